"""Append-only rows (scan log, audit log, outbox) written with one INSERT per table.

Outside a batch a row is inserted at once, in the caller's transaction. In a batch
(`mes.core.batch`) rows are held in the batch and written by `flush`, one executemany per
table: the writer flushes before it commits and before each savepoint, so that a refused
request's rows can be dropped with `discard` when its savepoint is rolled back. These rows have
no ORM object and no foreign key between them: nothing reads them back in the transaction that
writes them.
"""

from typing import Any

from sqlalchemy import Table, insert
from sqlmodel import Session, SQLModel

from mes.core.batch import batch_of


def table_of(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def append(session: Session, table: Table, row: dict[str, Any]) -> None:
    batch = batch_of(session)
    if batch is not None:
        batch.journal.append((table, row))
    else:
        session.execute(insert(table), [row])


def flush(session: Session) -> None:
    batch = batch_of(session)
    if batch is None or not batch.journal:
        return
    pending, batch.journal = batch.journal, []
    by_table: dict[Table, list[dict[str, Any]]] = {}
    for table, row in pending:
        by_table.setdefault(table, []).append(row)
    for table, rows in by_table.items():
        session.execute(insert(table), rows)


def discard(session: Session) -> None:
    batch = batch_of(session)
    if batch is not None:
        batch.journal.clear()
