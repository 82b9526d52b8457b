"""Write to the outbox inside the caller's transaction."""

import json
import uuid
from typing import Any

from sqlmodel import Session

from mes import journal
from mes.orders.models import utcnow
from mes.outbox.models import OutboxMessage

_TABLE = journal.table_of(OutboxMessage)

#: Set in `session.info` when a transaction wrote to the outbox (the relay is woken on commit).
WROTE_OUTBOX = "shopfloor.outbox_written"


def new_message_id() -> str:
    return uuid.uuid4().hex


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
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
            "payload": json.dumps(payload, separators=(",", ":"), default=str),
            "created_at": utcnow(),
            "published_at": None,
            "acked_at": None,
        },
    )
    session.info[WROTE_OUTBOX] = True
    return message_id
