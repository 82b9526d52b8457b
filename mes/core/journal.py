"""Append-only rows (scan log, audit log, outbox) written with one INSERT per table.

Outside a batch a row is inserted at once, in the caller's transaction. In a batch
(`mes.core.batch`) rows are held in the batch and written by `flush`, one executemany per
table: the writer flushes before it commits and before each savepoint, so that a refused
request's rows can be dropped with `discard` when its savepoint is rolled back. These rows have
no ORM object and no foreign key between them: nothing reads them back in the transaction that
writes them.
"""

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, insert
from sqlmodel import Session, SQLModel

from mes.core.batch import batch_of


def table_of(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


class Deferred:
    """A row value computed when the row is written, after the session's ORM rows were
    flushed: it may name their ids (a production event's, known only then in a batch)."""

    __slots__ = ("compute",)

    def __init__(self, compute: Callable[[], Any]) -> None:
        self.compute = compute


def _resolved(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    late = [r for r in rows if any(isinstance(v, Deferred) for v in r.values())]
    if late:
        session.flush()
        for r in late:
            for k, v in r.items():
                if isinstance(v, Deferred):
                    r[k] = v.compute()
    return rows


def append(session: Session, table: Table, row: dict[str, Any]) -> None:
    batch = batch_of(session)
    if batch is not None:
        batch.journal.append((table, row))
    else:
        session.execute(insert(table), _resolved(session, [row]))


def flush(session: Session) -> None:
    batch = batch_of(session)
    if batch is None or not batch.journal:
        return
    pending, batch.journal = batch.journal, []
    _resolved(session, [row for _, row in pending])
    by_table: dict[Table, list[dict[str, Any]]] = {}
    for table, row in pending:
        by_table.setdefault(table, []).append(row)
    for table, rows in by_table.items():
        session.execute(insert(table), rows)


def discard(session: Session) -> None:
    batch = batch_of(session)
    if batch is not None:
        batch.journal.clear()
