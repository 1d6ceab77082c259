"""The MemOS Python SDK: typed sync and async clients over the v1 HTTP API (``pip install memos[sdk]``).

from memos.sdk import MemosClient
with MemosClient("http://127.0.0.1:8080", "memos_...") as client:
    client.ingest(namespace="acme", session_id="s1", role="user", text="I prefer tea")
    print(client.query(namespace="acme", query="what does the user drink?").context_pack.text)
"""

from memos.sdk.calls import RetryPolicy
from memos.sdk.client import AsyncMemosClient, MemosClient
from memos.sdk.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ConnectionFailedError,
    MemosApiError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    ServiceUnavailableError,
    ValidationError,
)
from memos.sdk.sse import StreamEvent

__all__ = [
    "AsyncMemosClient",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "ConnectionFailedError",
    "MemosApiError",
    "MemosClient",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailableError",
    "StreamEvent",
    "ValidationError",
]
