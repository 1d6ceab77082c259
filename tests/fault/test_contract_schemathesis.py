"""Contract test: schemathesis over the served OpenAPI document, against a real local HTTP server.

For every operation, a bounded number of generated requests (schema examples and fuzzed inputs,
fixed seed): no 5xx, every status the API answers is documented for that operation, and every
response's content type is the one documented for its status (JSON, JSON Lines, event stream).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

from functions.api_public.handler import openapi_document
from infra.local.server import LocalServer
from infra.local.services import free_port

MAX_EXAMPLES = 12  # per operation; ~25 operations keep the run well under a minute


@pytest.fixture(scope="module")
def server(admin_key: str) -> Iterator[tuple[str, str]]:
    srv = LocalServer("127.0.0.1", free_port())
    srv.start()
    try:
        yield srv.url, admin_key
    finally:
        srv.stop()


# The document the server serves (the test below checks they are the same), loaded at collection.
schema = schemathesis.openapi.from_dict(openapi_document())
# Wrong methods are still tried (405 in the error shape), but not QUERY: the HTTP server itself
# answers a method it does not implement with 501 (RFC 9110 §15.6.2) before any handler runs.
schema.config.phases.coverage.unexpected_methods -= {"query"}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_documented_statuses_and_content_types_and_never_5xx(
    case: Any, server: tuple[str, str]
) -> None:
    url, key = server
    case.call_and_validate(
        base_url=url,
        headers={"Authorization": f"Bearer {key}"},
        checks=[not_a_server_error, status_code_conformance, content_type_conformance],
    )


def test_the_document_names_the_error_shape_and_the_non_json_bodies(server):
    url, key = server
    doc = requests.get(
        f"{url}/v1/openapi.json", headers={"Authorization": f"Bearer {key}"}, timeout=30
    ).json()
    assert doc == openapi_document()
    paths = doc["paths"]
    assert "ErrorResponse" in doc["components"]["schemas"]
    assert set(paths["/v1/memories/{memory_id}"]["delete"]["responses"]) >= {
        "204",
        "401",
        "403",
        "404",
        "503",
    }
    assert "200" not in paths["/v1/memories/{memory_id}"]["delete"]["responses"]
    export = paths["/v1/namespaces/{namespace}/export"]["get"]["responses"]["200"]["content"]
    assert list(export) == ["application/x-ndjson"]
    stream = paths["/v1/answer/stream"]["post"]["responses"]["200"]["content"]
    assert list(stream) == ["text/event-stream"]
    ingest = paths["/v1/ingest"]["post"]["responses"]
    assert {"400", "401", "403", "409", "413", "422", "429", "503"} <= set(ingest)
    assert ingest["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse"
    }
