"""The route table is the single source: every route is served by the function it names, and
no function serves a route the table does not list."""

import importlib

from functions.routes import API_FUNCTIONS, ROUTES


def _served(function: str) -> set[tuple[str, str]]:
    app = importlib.import_module(f"functions.{function}.handler").app
    served = set()
    for route in app._static_routes + app._dynamic_routes:
        path = route.openapi_path  # /v1/memories/{memory_id}
        served.add((route.method.upper(), path))
    return served


def test_every_route_is_served_by_its_function_and_nothing_else():
    for function in API_FUNCTIONS:
        expected = {(r.method, r.path) for r in ROUTES if r.function == function}
        assert _served(function) == expected, function


def test_routes_are_unique_and_only_health_is_public():
    keys = [(r.method, r.path) for r in ROUTES]
    assert len(keys) == len(set(keys))
    assert {r.path for r in ROUTES if r.scope is None} == {"/v1/health"}
