"""Write to the outbox inside the caller's transaction."""

import json
import uuid
from typing import Any

from sqlmodel import Session, select

from mes.core import journal
from mes.core.clock import utcnow
from mes.outbox.models import OutboxMessage

_TABLE = journal.table_of(OutboxMessage)


def new_message_id() -> str:
    return uuid.uuid4().hex


def _dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), default=str)


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | journal.Deferred,
    *,
    message_id: str | None = None,
    erp_id: str | None = None,
    work_order_id: int | None = None,
    final: bool = False,
) -> str:
    """Store one message for the broker; returns its `message_id`, which identifies the outbox
    row (ERP acks name it); a confirmation carries the same id in its payload, a rejection the
    ERP's own."""
    message_id = message_id or new_message_id()
    journal.append(
        session,
        _TABLE,
        {
            "message_id": message_id,
            "kind": kind,
            "erp_id": erp_id,
            "work_order_id": work_order_id,
            "final": final,
            "payload": (
                journal.Deferred(lambda: _dumps(payload.compute()))
                if isinstance(payload, journal.Deferred)
                else _dumps(payload)
            ),
            "created_at": utcnow(),
            "published_at": None,
            "acked_at": None,
        },
    )
    return message_id


def mark_acked(session: Session, message_id: str) -> OutboxMessage | None:
    """Record that the receiver acknowledged message `message_id` (first ack wins); the row,
    or None for an unknown id."""
    row = session.exec(select(OutboxMessage).where(OutboxMessage.message_id == message_id)).first()
    if row is not None and row.acked_at is None:
        row.acked_at = utcnow()
        session.add(row)
    return row
