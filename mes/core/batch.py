"""The batch context: state of one transaction that runs many station requests (the scan
writer's group commit), held by its session under one key.

A session with a batch keeps the rows it loaded and locked for the rest of the transaction
(`rows`), flushes a production event only when its id is needed, and holds append-only rows
until the writer flushes them (`mes.core.journal`). A session without one does none of this.
"""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table
from sqlmodel import Session

_KEY = "mes.batch"


@dataclass(slots=True, eq=False)
class Batch:
    #: rows loaded and locked once, by key (`("wo", id or number)`, `("ops", work order id)`)
    rows: dict[Any, Any] = field(default_factory=dict)
    #: append-only rows waiting for `journal.flush`
    journal: list[tuple[Table, dict[str, Any]]] = field(default_factory=list)
    #: production events recorded in this transaction, in order (ids known after a flush)
    events: list[Any] = field(default_factory=list)
    #: False while no quality hold can be active (none when the batch began, none added
    #: since): the hold lookups of the reporting path are skipped
    holds_possible: bool = True


def begin(session: Session, batch: Batch) -> None:
    """Run `session`'s transaction as `batch`."""
    session.info[_KEY] = batch


def batch_of(session: Session) -> Batch | None:
    """The session's batch, or None outside a batch."""
    found: Batch | None = session.info.get(_KEY)
    return found


def forget_rows(session: Session) -> None:
    """Drop the memoised rows (after a rollback: rows it holds may be gone)."""
    batch = batch_of(session)
    if batch is not None:
        batch.rows.clear()


def memo(session: Session) -> dict[Any, Any] | None:
    """The batch's memoised rows, or None outside a batch."""
    batch: Batch | None = session.info.get(_KEY)
    return batch.rows if batch is not None else None
