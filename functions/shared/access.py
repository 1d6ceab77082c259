"""The one access check: every API route's scope and namespace grant, from the route table.

A Powertools middleware registered on every resolver (``functions/shared/api.py``) looks up the
request's route in ``functions/routes.py`` and refuses, before the handler runs, a key that lacks
the route's scope or names a namespace outside its grant (403, indistinguishable from a missing
namespace). Routes by memory id name no namespace: the memory's own namespace decides, and a
memory outside the grant is "not found" (``memos.memory.memories``). The request body was already
validated by Powertools (a malformed body is 400/422 before this runs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from functions import routes
from functions.routes import Route
from memos.access.auth import Identity


def identity(app: APIGatewayRestResolver) -> Identity:
    """The caller the authorizer vouched for (requestContext.authorizer); 401 without one."""
    ctx = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer")
    return Identity.from_context(ctx)


def route_of(app: APIGatewayRestResolver) -> Route | None:
    event = app.current_event
    resource = event.raw_event.get("resource")
    if resource:
        try:
            return routes.route(event.http_method, resource)
        except KeyError:
            return None
    route, _, _ = routes.match(event.http_method, event.path)  # events without a resource (tests)
    return route


def named_namespace(app: APIGatewayRestResolver, route: Route) -> str | None:
    """The namespace the request names, from where the route table says it is."""
    event = app.current_event
    value: Any = None
    if route.namespace_in == "body":
        body = event.json_body if event.body else None
        value = body.get("namespace") if isinstance(body, dict) else None
    elif route.namespace_in == "query":
        value = (event.query_string_parameters or {}).get("namespace")
    elif route.namespace_in == "path":
        value = (event.path_parameters or {}).get("namespace")
    return value if isinstance(value, str) else None


def enforce_route_access(
    app: APIGatewayRestResolver, next_middleware: Callable[[APIGatewayRestResolver], Response]
) -> Response:
    route = route_of(app)
    if route is not None and route.scope is not None:
        identity(app).authorize(route.scope, named_namespace(app, route))
    return next_middleware(app)
