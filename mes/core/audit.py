"""Audit log: who did what, when, and from which station."""

import json
from datetime import datetime
from typing import Any

from sqlmodel import Field, Session, SQLModel

from mes.core import journal
from mes.core.clock import utcnow


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=64, index=True)
    action: str = Field(max_length=64)
    target: str = Field(max_length=128)
    station: str | None = Field(default=None, max_length=64)
    detail_json: str = "{}"


_TABLE = journal.table_of(AuditEntry)


def record(
    session: Session,
    actor: str,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
    station: str | None = None,
) -> None:
    """Add an audit entry to the caller's transaction (committed with the change it records)."""
    journal.append(
        session,
        _TABLE,
        {
            "at": utcnow(),
            "actor": actor,
            "action": action,
            "target": target,
            "station": station,
            "detail_json": json.dumps(detail or {}, default=str, sort_keys=True),
        },
    )
