"""CDK entry point: ``cdk synth -c env=dev|staging|prod`` (default dev), run from the repo root.

The app builds the stack for one environment and runs the cdk-nag AwsSolutions pack as a
validation plugin; unacknowledged findings fail the synth and land in
``cdk.out/validation-report.json``.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.config import get_config
from infra.constructs.stack import MemosStack


def build_app(
    env: str | None = None,
    *,
    context: dict[str, Any] | None = None,
    outdir: str | None = None,
    nag: bool = True,
) -> cdk.App:
    """Tests pass ``context`` (cdk.json flags, bundling off) and ``outdir``; the CLI passes neither."""
    app = cdk.App(context=context, outdir=outdir)
    config = get_config(env or app.node.try_get_context("env"))
    MemosStack(app, config.stack_name, config=config)
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def main() -> None:
    build_app().synth()


if __name__ == "__main__":
    main()
