"""L3: entities and relations, found by rules (no model), kept per namespace with evidence memory ids.

Extraction is deliberately modest and explainable: ``english`` and ``chinese`` hold each
language's rules, ``extract`` runs both over a text, ``names`` normalizes what they find.
``record`` resolves names against what the namespace holds (aliases, first ↔ full name) and
stores them; ``lookup`` reads them back for queries and the governance API. SQL lives in
``memos.store.entities``.
"""

from memos.governance.entities.extract import extract, extract_entities, extract_relations
from memos.governance.entities.lookup import (
    list_entities,
    memory_entity_overlap,
    names_to_look_up,
    query_entities,
)
from memos.governance.entities.names import USER, USER_MENTION, Mention, Relation, normalize_name, sentences
from memos.governance.entities.record import Extracted, extract_all, record_mentions, send_lookups
from memos.store.entities import MAX_EVIDENCE

__all__ = [
    "MAX_EVIDENCE",
    "USER",
    "USER_MENTION",
    "Extracted",
    "Mention",
    "Relation",
    "extract",
    "extract_all",
    "extract_entities",
    "extract_relations",
    "list_entities",
    "memory_entity_overlap",
    "names_to_look_up",
    "normalize_name",
    "query_entities",
    "record_mentions",
    "send_lookups",
    "sentences",
]
