"""Runs inside the bundle's interpreter (see conftest.py): import one handler, invoke it, report.

Started as ``python -P -S runner.py`` with ``PYTHONPATH`` = the functions asset and the layer's
``python/`` folder only, so nothing from the checkout or the virtualenv can be imported. Reads
``{"handler", "events", "roots"}`` as JSON on stdin; writes one JSON line on stdout:
``{"import_ms", "results": [...], "outside": [...]}``. Standard library only.
"""

import importlib
import json
import sys
import sysconfig
import time
import traceback
import types
import uuid


def _context(name):
    return types.SimpleNamespace(
        function_name=f"memos-bundle-{name}",
        function_version="1",
        memory_limit_in_mb=512,
        invoked_function_arn=f"arn:aws:lambda:us-east-1:000000000000:function:memos-{name}",
        aws_request_id=str(uuid.uuid4()),
        log_group_name=f"/aws/lambda/memos-{name}",
        log_stream_name="bundle",
        get_remaining_time_in_millis=lambda: 60_000,
    )


def _outside(roots):
    """Loaded modules whose file is neither in the standard library nor under the bundle roots."""
    stdlib = [sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]]
    allowed = [*roots, *stdlib]
    out = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if (
            name not in ("__main__", "__mp_main__")
            and path
            and not any(path.startswith(root) for root in allowed)
        ):
            out.append(f"{name}: {path}")
    return sorted(out)


def main():
    request = json.load(sys.stdin)
    module_name, _, attr = request["handler"].rpartition(".")
    started = time.perf_counter()
    handler = getattr(importlib.import_module(module_name), attr)
    import_ms = (time.perf_counter() - started) * 1000
    results = []
    for event in request["events"]:
        try:
            results.append({"ok": True, "value": handler(event, _context(module_name.split(".")[1]))})
        except Exception as exc:
            results.append(
                {"ok": False, "error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()}
            )
    report = {
        "import_ms": import_ms,
        "results": results,
        "outside": _outside(request["roots"]),
        "path": sys.path,
    }
    sys.stdout.write("\nBUNDLE-REPORT " + json.dumps(report, default=str) + "\n")


if __name__ == "__main__":
    main()
