"""Cursor-paged ops lists: audit events, condensations and stored context packs, newest first."""

from __future__ import annotations

from datetime import datetime

from memos.kernel.errors import Unprocessable
from memos.models import ops as models
from memos.ops.visible import Visible
from memos.store import audit, db
from memos.store import ops as store


def audit_events(
    visible: Visible,
    *,
    session_id: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
) -> models.OpsAuditPage:
    if action is not None and action not in audit.ACTIONS:
        raise Unprocessable(
            "unknown audit action",
            details=[{"field": "action", "message": f"one of {', '.join(sorted(audit.ACTIONS))}"}],
        )
    if since and until and since > until:
        raise Unprocessable("since is after until", details=[{"field": "since", "message": "after until"}])
    with db.connection() as conn:
        filters = store.AuditFilter(session_id, action, since, until)
        rows, next_cursor = store.audit_page(conn, visible.scope, filters, cursor=cursor, limit=limit)
        conn.rollback()
    return models.OpsAuditPage(
        events=[models.OpsAuditEvent.model_validate(r) for r in rows], next_cursor=next_cursor
    )


def condensations(
    visible: Visible, *, session_id: str | None, cursor: str | None, limit: int
) -> models.OpsCondensationPage:
    with db.connection() as conn:
        rows, next_cursor = store.condensation_page(
            conn, visible.scope, session_id=session_id, cursor=cursor, limit=limit
        )
        conn.rollback()
    return models.OpsCondensationPage(
        condensations=[models.OpsCondensation.model_validate(r) for r in rows], next_cursor=next_cursor
    )


def context_packs(
    visible: Visible, *, session_id: str | None, include_pack: bool, cursor: str | None, limit: int
) -> models.OpsContextPackPage:
    with db.connection() as conn:
        rows, next_cursor = store.context_pack_page(
            conn, visible.scope, session_id=session_id, include_pack=include_pack, cursor=cursor, limit=limit
        )
        conn.rollback()
    return models.OpsContextPackPage(
        context_packs=[models.OpsContextPack.model_validate(r) for r in rows], next_cursor=next_cursor
    )
