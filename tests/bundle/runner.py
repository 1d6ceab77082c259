"""Runs inside the bundle's interpreter (see conftest.py): import one handler, invoke it, report.

Started as ``python -P -S runner.py`` with ``PYTHONPATH`` = the functions asset and the layer's
``python/`` folder only, so nothing from the checkout or the virtualenv can be imported. Reads
``{"handler", "events", "roots", "snapshot"?}`` as JSON on stdin; writes one JSON line on stdout:
``{"import_ms", "loaded", "results": [...], "outside": [...]}``: ``loaded`` lists the modules in
``sys.modules`` right after the handler's import. With ``snapshot`` true the SnapStart
before-snapshot hook runs after the import, as Lambda runs it before taking the snapshot (an
exception there ends the process, as it fails the snapshot), and ``snapshot`` reports the modules
and the number of open sockets at that point. Standard library only.
"""

import contextlib
import importlib
import json
import os
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


def _open_sockets():
    """How many sockets this process holds open (Linux, as Lambda is)."""
    fds = os.listdir("/proc/self/fd")
    links = []
    for fd in fds:
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone already
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
    return sum(link.startswith("socket:") for link in links)


def main():
    request = json.load(sys.stdin)
    module_name, _, attr = request["handler"].rpartition(".")
    started = time.perf_counter()
    handler = getattr(importlib.import_module(module_name), attr)
    import_ms = (time.perf_counter() - started) * 1000
    loaded = sorted(sys.modules)
    snapshot = None
    if request.get("snapshot"):
        importlib.import_module("functions.shared.snapstart").before_snapshot()
        snapshot = {"loaded": sorted(sys.modules), "sockets": _open_sockets()}
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
        "loaded": loaded,
        "snapshot": snapshot,
        "results": results,
        "outside": _outside(request["roots"]),
        "path": sys.path,
    }
    sys.stdout.write("\nBUNDLE-REPORT " + json.dumps(report, default=str) + "\n")


if __name__ == "__main__":
    main()
