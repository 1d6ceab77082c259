"""Request and response models of the governance routes (policy, entities)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from memos.governance.policy import Policy
from memos.models import Namespace


class PolicyUpdate(BaseModel):
    """A partial policy: only the keys given change; nested objects (weights, ttl_days) merge by key."""

    model_config = ConfigDict(extra="forbid")

    namespace: Namespace
    settings: dict[str, Any] = Field(min_length=1, description="keys of the policy to override")


class PolicyOut(BaseModel):
    namespace: str
    policy: Policy
    overridden: list[str] = Field(description="dotted keys that differ from the documented defaults' source")
    version: int = Field(0, description="0 while the namespace uses the defaults only")
    updated_at: datetime | None = None


class RelationOut(BaseModel):
    subject: str
    predicate: str
    object: str
    evidence: list[UUID]


class EntityOut(BaseModel):
    entity_id: UUID
    name: str
    normalized: str
    type: str
    aliases: list[str]
    mention_count: int
    evidence: list[UUID]
    first_seen: datetime
    last_seen: datetime
    relations: list[RelationOut]


class EntityPage(BaseModel):
    namespace: str
    entities: list[EntityOut]
