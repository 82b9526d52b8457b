"""Batch mode: many station requests in one transaction (the scan writer's group commit)."""

from typing import Any

from sqlmodel import Session

#: `session.info` key, set by a caller that runs many requests in one transaction (the scan
#: writer's batch): rows loaded and locked once are kept for the rest of the transaction (see
#: `memo`), and a production event is flushed only when its id is needed. The caller drops
#: the memo whenever it rolls back (`forget`).
BATCH = "production.batch"
_MEMO = "production.memo"


def memo(session: Session) -> dict[Any, Any] | None:
    """This batch's rows by key, or None outside a batch."""
    if not session.info.get(BATCH):
        return None
    found: dict[Any, Any] = session.info.setdefault(_MEMO, {})
    return found


def forget(session: Session) -> None:
    """Drop the batch memo (after a rollback: rows it holds may be gone)."""
    session.info.pop(_MEMO, None)
