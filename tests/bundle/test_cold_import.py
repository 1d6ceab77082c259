"""Cold start, as behaviour: importing a handler from the bundle loads none of the heavy modules
and opens nothing; the SnapStart before-snapshot hook loads them, and still leaves no connection
in the snapshot. (How long the import takes is a benchmark: bench/bench_coldstart.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from functions.routes import API_FUNCTIONS, BACKGROUND_FUNCTIONS
from tests.bundle.conftest import Bundle, run_in_bundle
from tests.bundle.test_bundle import _environment, _logical_id, api_event, invoke

# What a handler's import must not load: each costs tens of milliseconds, or opens connections.
HEAVY = (
    "numpy",
    "pydantic",
    "pydantic_core",
    "psycopg",
    "psycopg_pool",
    "pgvector",
    "redis",
    "boto3",
    "botocore",
    "aws_lambda_powertools",
    "mcp",
    "memos",  # the domain (models, store, embeddings) loads with the function's code
)
SNAPSTART = [*API_FUNCTIONS, "authorizer"]  # infra/constructs/compute.py


def _heavy(modules: list[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


@pytest.mark.parametrize("name", [*API_FUNCTIONS, *BACKGROUND_FUNCTIONS])
def test_importing_the_handler_loads_no_heavy_module(bundle: Bundle, env: dict[str, Any], name: str) -> None:
    report = invoke(bundle, env, name, [])
    assert _heavy(report.loaded) == []
    assert f"functions.{name}.handler" in report.loaded
    assert f"functions.{name}.app" not in report.loaded


@pytest.mark.parametrize("name", SNAPSTART)
def test_the_before_snapshot_hook_loads_the_code_and_leaves_no_connection(
    bundle: Bundle, env: dict[str, Any], name: str
) -> None:
    lid = _logical_id(bundle, name)
    report = run_in_bundle(
        bundle.path, bundle.functions[lid]["Handler"], [], _environment(bundle, lid, env), snapshot=True
    )
    assert report.snapshot is not None
    loaded = report.snapshot["loaded"]
    assert f"functions.{name}.app" in loaded
    assert {"aws_lambda_powertools", "pydantic", "memos"} <= {m.split(".")[0] for m in loaded}
    if name in ("api_query", "api_memory", "api_mcp"):  # they embed: the embedder is in the snapshot
        assert {"numpy", "memos.embeddings.static"} <= set(loaded)
    assert report.snapshot["sockets"] == 0


def test_after_the_snapshot_hook_the_first_request_connects_and_answers(
    bundle: Bundle, env: dict[str, Any]
) -> None:
    lid = _logical_id(bundle, "api_public")
    report = run_in_bundle(
        bundle.path,
        bundle.functions[lid]["Handler"],
        [api_event("GET", "/v1/health")],
        _environment(bundle, lid, env),
        snapshot=True,
    )
    health = report.value(0)
    assert health["statusCode"] == 200, health["body"]
