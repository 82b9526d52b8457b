"""The audit log over REST: who did what, to what, when (supervisor, quality, admin)."""

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field
from sqlmodel import col, select

from mes.api.deps import SessionDep, require
from mes.api.types import ID_MAX, Text
from mes.auth.roles import Permission, Principal
from mes.core.audit import AuditEntry

router = APIRouter(prefix="/api/v1", tags=["audit"])


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str = Field(description="`<kind>:<name>`: user:sup1, station:ws-10, system:erp, ...")
    action: str
    target: str
    station: str | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    entries: list[AuditEntryOut] = Field(description="newest first")
    next_before: int | None = Field(
        description="pass as `before` for the next (older) page; null on the last page"
    )


@router.get(
    "/audit",
    response_model=AuditPage,
    summary="The audit log, newest first, by actor, target, action and time (paginated)",
)
def audit_log(
    session: SessionDep,
    _who: Annotated[Principal, require(Permission.AUDIT_READ)],
    actor: Annotated[Text | None, Query(max_length=64, examples=["user:sup1"])] = None,
    target: Annotated[Text | None, Query(max_length=128, examples=["WO-000123"])] = None,
    action: Annotated[
        Text | None,
        Query(max_length=64, description="an action, or a prefix ending in `.`: `hold.`"),
    ] = None,
    since: Annotated[AwareDatetime | None, Query(description="at or after")] = None,
    until: Annotated[AwareDatetime | None, Query(description="before")] = None,
    before: Annotated[
        int | None, Query(ge=1, le=ID_MAX, description="entries older than this id")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    q = select(AuditEntry)
    if actor:
        q = q.where(AuditEntry.actor == actor)
    if target:
        q = q.where(AuditEntry.target == target)
    if action:
        q = q.where(
            col(AuditEntry.action).startswith(action, autoescape=True)
            if action.endswith(".")
            else AuditEntry.action == action
        )
    if since is not None:
        q = q.where(AuditEntry.at >= since.astimezone(UTC))
    if until is not None:
        q = q.where(AuditEntry.at < until.astimezone(UTC))
    if before is not None:
        q = q.where(col(AuditEntry.id) < before)
    rows = session.exec(q.order_by(col(AuditEntry.id).desc()).limit(limit + 1)).all()
    page = rows[:limit]
    return AuditPage(
        entries=[
            AuditEntryOut(
                id=r.id or 0,
                at=r.at,
                actor=r.actor,
                action=r.action,
                target=r.target,
                station=r.station,
                detail=json.loads(r.detail_json or "{}"),
            )
            for r in page
        ],
        next_before=page[-1].id if len(rows) > limit and page else None,
    )
