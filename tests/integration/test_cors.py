"""The hosted console calls the API from its CloudFront origin: responses allow exactly that origin."""

from __future__ import annotations

from tests.services import env_override


def test_responses_allow_the_console_origin_when_configured(api, ns):
    origin = "https://d111111abcdef8.cloudfront.net"
    with env_override(MEMOS_CORS_ALLOW_ORIGIN=origin):
        for method, path, body in (
            ("GET", "/v1/health", None),
            ("POST", "/v1/query", {"namespace": ns, "query": "hello"}),
            ("POST", "/v1/ingest", {"namespace": ns}),
        ):  # an error keeps it too
            status, _, headers = api.call(method, path, body)
            assert headers["access-control-allow-origin"] == origin, (path, status)
            assert headers["access-control-expose-headers"] == "x-request-id"


def test_without_configuration_no_cross_origin_access_is_granted(api, ns):
    _, _, headers = api.call("POST", "/v1/query", {"namespace": ns, "query": "hello"})
    assert "access-control-allow-origin" not in headers
