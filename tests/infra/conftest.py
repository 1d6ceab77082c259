"""Synthesize each environment's stack once per test session (with cdk-nag, without bundling).

Synthesis takes ~15 s per environment, so every test shares these results. The CLI reads
cdk.json's feature flags; an in-process App does not, so they are loaded here explicitly.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk.assertions import Template

from infra.app import build_app
from infra.config import ENVIRONMENTS, EnvConfig, get_config

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_NAMES = sorted(ENVIRONMENTS)


def cdk_json_context() -> dict[str, Any]:
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return {**context, "aws:cdk:bundling-stacks": []}  # skip asset bundling (no pip, no Docker)


@dataclass
class Synth:
    config: EnvConfig
    template: Template
    resources: dict[str, Any]
    report: dict[str, Any] | None
    error: str | None

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}


def synthesize(env: str, outdir: Path) -> Synth:
    config = get_config(env)
    app = build_app(env, context=cdk_json_context(), outdir=str(outdir), nag=True)
    error = None
    try:
        app.synth()
    except RuntimeError as exc:  # a failed validation (cdk-nag) still writes template and report
        error = str(exc)
    template_json = json.loads((outdir / f"{config.stack_name}.template.json").read_text())
    report_path = outdir / "validation-report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    return Synth(config, Template.from_json(template_json), template_json["Resources"], report, error)


@pytest.fixture(scope="session")
def synths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synth]:
    return {env: synthesize(env, tmp_path_factory.mktemp(f"cdk-{env}")) for env in ENV_NAMES}


@pytest.fixture(params=ENV_NAMES)
def synth(request: pytest.FixtureRequest, synths: dict[str, Synth]) -> Synth:
    return synths[request.param]
