"""Request and response models of the key administration API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

Scope = Literal["memory:write", "memory:read", "ops:read", "admin"]
NamespaceGrant = Annotated[
    str,
    Field(
        pattern=r"^(\*|[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}\*?)$",
        description="an exact namespace, a prefix ending in *, or * for all",
    ),
]


class KeyCreateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$", description="who or what the key is for"
    )
    scopes: list[Scope] = Field(min_length=1, max_length=4)
    namespaces: list[NamespaceGrant] = Field(min_length=1, max_length=100)


class KeyOut(BaseModel):
    """A key's record: never its hash, never its plaintext."""

    key_id: UUID
    name: str
    prefix: str = Field(description="the key's first characters, to recognise it in a list")
    scopes: list[str]
    namespaces: list[str]
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> KeyOut:
        return cls(key_id=row["id"], **{k: v for k, v in row.items() if k != "id"})


class KeyCreated(KeyOut):
    key: str = Field(description="the plaintext key; shown once, only its SHA-256 is stored")


class KeyList(BaseModel):
    keys: list[KeyOut]
