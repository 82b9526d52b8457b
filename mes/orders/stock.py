"""Apply ERP stock messages to the database (inside the caller's transaction), like order
messages: idempotent by `message_id` (the `erp_message` journal), fully validated before
anything is written, a rejection published through the outbox (`_erp/stock/rejected`)."""

import logging
from dataclasses import dataclass

from sqlmodel import Session, col, delete

from mes.core.clock import aware
from mes.orders.erp_messages import MAX_MESSAGE_BYTES, Rejection, rejection_payload
from mes.orders.models import ErpMessage
from mes.orders.stock_messages import SNAPSHOT, StockMessage, parse_stock_message
from mes.orders.stock_models import MaterialReceipt, MaterialStock
from mes.outbox.store import enqueue

log = logging.getLogger(__name__)

#: outbox kind of a stock rejection (the runtime maps it to `_erp/stock/rejected`)
STOCK_REJECTION = "stock-rejection"


@dataclass(frozen=True, slots=True)
class StockResult:
    outcome: str  # applied | duplicate | rejected | stale
    message_id: str | None
    materials: tuple[str, ...] = ()
    rejection: Rejection | None = None


def apply_stock_message(
    session: Session, raw: bytes | str, *, max_bytes: int = MAX_MESSAGE_BYTES
) -> StockResult:
    """The caller commits. A material whose stored stock is newer than the message's `at`
    keeps it (a late resend of an older snapshot changes nothing: `stale`)."""
    parsed = parse_stock_message(raw, max_bytes)
    message, rejection = parsed.message, parsed.rejection
    message_id = message.message_id if message else (rejection.message_id if rejection else None)
    if message_id is not None and session.get(ErpMessage, message_id) is not None:
        return StockResult("duplicate", message_id)
    if rejection is not None:
        if message_id is not None:
            session.add(
                ErpMessage(
                    message_id=message_id,
                    type=SNAPSHOT,
                    outcome="rejected",
                    error_code=rejection.code,
                )
            )
        enqueue(session, STOCK_REJECTION, rejection_payload(rejection, parsed.received))
        log.warning("ERP stock message %s rejected: %s", message_id, rejection.message)
        return StockResult("rejected", message_id, rejection=rejection)
    assert message is not None
    applied = _apply(session, message)
    session.add(
        ErpMessage(
            message_id=message.message_id,
            type=SNAPSHOT,
            outcome="applied" if applied else "stale",
        )
    )
    return StockResult("applied" if applied else "stale", message.message_id, applied)


def _apply(session: Session, message: StockMessage) -> tuple[str, ...]:
    applied = []
    for m in message.materials:
        row = session.get(MaterialStock, m.material)
        if row is not None and aware(row.as_of) > message.at:
            continue
        if row is None:
            row = MaterialStock(
                material=m.material,
                unit=m.unit,
                on_hand=m.on_hand,
                as_of=message.at,
                message_id=message.message_id,
            )
        else:
            row.unit, row.on_hand, row.as_of = m.unit, m.on_hand, message.at
            row.message_id = message.message_id
        session.add(row)
        session.flush()
        session.exec(delete(MaterialReceipt).where(col(MaterialReceipt.material) == m.material))
        for r in m.receipts:
            session.add(
                MaterialReceipt(
                    material=m.material,
                    expected_at=r.at,
                    quantity=r.quantity,
                    reference=r.reference,
                )
            )
        applied.append(m.material)
    session.flush()
    return tuple(applied)
