"""The bundle tier: what CDK synthesizes is what runs.

Once per session: synthesize ``MemOS-dev`` with real asset bundling (the layer's wheels come
from the dependency cache of infra/bundling.py, outside the work tree, so only the first run
downloads), then build the same layer with the same bundling code for the local interpreter
(Lambda's CPython 3.12 wheels cannot load on this 3.11; see docs/DEPLOY.md). Each handler then runs
in a fresh ``python -P -S`` whose path is only the functions asset and the layer's ``python/``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("runner.py")
LOCAL_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
REPORT_MARK = "BUNDLE-REPORT "


@dataclass
class Bundle:
    template: dict[str, Any]
    functions_asset: Path  # the synthesized code asset (functions/ at its root)
    layer_asset: Path  # the synthesized layer (python/ for Lambda's CPython 3.12)
    local_layer: Path  # the same bundling for this interpreter: python/
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)  # logical id -> properties

    @property
    def path(self) -> list[Path]:
        return [self.functions_asset, self.local_layer / "python"]


def _asset_dir(outdir: Path, s3_key: Any) -> Path:
    assert isinstance(s3_key, str) and s3_key.endswith(".zip"), s3_key
    path = outdir / f"asset.{s3_key.removesuffix('.zip')}"
    assert path.is_dir(), f"no staged asset {path}"
    return path


def synthesize_dev(outdir: Path) -> tuple[dict[str, Any], Path, Path, dict[str, dict[str, Any]]]:
    from infra.app import build_app
    from infra.config import get_config

    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]  # bundling stays on
    config = get_config("dev")
    build_app("dev", context=context, outdir=str(outdir), nag=False).synth()
    template = json.loads((outdir / f"{config.stack_name}.template.json").read_text())
    resources = template["Resources"]
    ours = {
        lid: r["Properties"]
        for lid, r in resources.items()
        if r["Type"] == "AWS::Lambda::Function"
        and str(r["Properties"].get("Handler", "")).startswith("functions.")
    }
    assert ours, "no function of the functions asset in the template"
    code_dirs = {_asset_dir(outdir, p["Code"]["S3Key"]) for p in ours.values()}
    assert len(code_dirs) == 1, f"functions use more than one code asset: {code_dirs}"
    layer_ids = {ref["Ref"] for p in ours.values() for ref in p["Layers"]}
    assert len(layer_ids) == 1, f"functions use more than one layer: {layer_ids}"
    layer_dir = _asset_dir(outdir, resources[layer_ids.pop()]["Properties"]["Content"]["S3Key"])
    return template, code_dirs.pop(), layer_dir, ours


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    from infra.bundling import LayerBundling

    outdir = tmp_path_factory.mktemp("cdk-bundle")
    template, functions_asset, layer_asset, functions = synthesize_dev(outdir)
    local_layer = tmp_path_factory.mktemp("layer-local")
    assert LayerBundling(python_version=LOCAL_PYTHON).try_bundle(str(local_layer), None)
    return Bundle(template, functions_asset, layer_asset, local_layer, functions)


@dataclass
class Report:
    import_ms: float
    loaded: list[str]  # sys.modules right after the handler's import
    snapshot: dict[str, Any] | None  # after the before-snapshot hook: {"loaded", "sockets"}
    results: list[dict[str, Any]]
    outside: list[str]
    path: list[str]

    def value(self, i: int = 0) -> Any:
        result = self.results[i]
        assert result["ok"], result.get("trace")
        return result["value"]


def run_in_bundle(
    path: list[Path],
    handler: str,
    events: list[dict[str, Any]],
    environment: dict[str, str],
    *,
    snapshot: bool = False,
) -> Report:
    """Import ``handler`` in a fresh interpreter that sees only ``path``, invoke it with each event
    (after the SnapStart before-snapshot hook when ``snapshot``)."""
    request = {"handler": handler, "events": events, "roots": [str(p) for p in path], "snapshot": snapshot}
    with tempfile.TemporaryDirectory(prefix="memos-bundle-cwd-") as cwd:  # nothing importable in cwd
        proc = subprocess.run(
            [sys.executable, "-P", "-S", str(RUNNER)],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            cwd=cwd,
            env={**environment, "PYTHONPATH": os.pathsep.join(str(p) for p in path)},
            timeout=180,
        )
    lines = [line for line in proc.stdout.splitlines() if line.startswith(REPORT_MARK)]
    if proc.returncode != 0 or not lines:
        raise AssertionError(
            f"{handler} failed in the bundle (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
        )
    return Report(**json.loads(lines[-1][len(REPORT_MARK) :]))
