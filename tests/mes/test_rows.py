"""Driver-level executemany (`mes.core.rows`): times stored exactly as SQLAlchemy binds them,
so the ORM reads back what was written, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel.sql.sqltypes import UTCDateTime

from mes.core.db import make_engine
from mes.core.rows import RowWriter, memoised, server_time, sqlite_time

TIMES = [
    datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC),
    datetime(2026, 3, 29, 3, 0, tzinfo=ZoneInfo("Europe/Berlin")),  # after the DST change
    datetime(2026, 1, 1, 8, 0, 0, 0, tzinfo=timezone(timedelta(hours=8))),  # no microseconds
    datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
]


@pytest.mark.parametrize("at", TIMES)
def test_sqlite_time_is_what_sqlalchemy_binds(at: datetime) -> None:
    dialect = sqlite.dialect()
    column = UTCDateTime()
    bound = column.dialect_impl(dialect).bind_processor(dialect)
    assert bound is not None
    assert sqlite_time(at) == bound(at)


def test_naive_times_are_refused_like_the_column_type_does() -> None:
    naive = datetime(2026, 3, 3, 8)
    with pytest.raises(ValueError, match="timezone-aware"):
        sqlite_time(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        server_time(naive)
    assert sqlite_time(None) is None
    assert server_time(None) is None


def test_memoised_converts_each_time_object_once() -> None:
    calls: list[datetime | None] = []

    def convert(value: datetime | None) -> str:
        calls.append(value)
        return f"t{len(calls)}"

    once = memoised(convert)
    a = datetime(2026, 3, 3, 8, tzinfo=UTC)
    equal_but_other = datetime(2026, 3, 3, 8, tzinfo=UTC)
    assert [once(a), once(a), once(None), once(equal_but_other), once(a)] == [
        "t1",
        "t1",
        None,
        "t2",
        "t1",
    ]
    assert calls == [a, equal_but_other]


meta = MetaData()
spans = Table(
    "spans",
    meta,
    Column("id", Integer, primary_key=True),
    Column("name", String(16), nullable=False, unique=True),
    Column("start", UTCDateTime(), nullable=False),
    Column("end", UTCDateTime(), nullable=True),
)


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path}/rows.db"
    engine = make_engine(url)
    meta.create_all(engine)
    return engine


def test_rows_written_by_the_driver_read_back_through_sqlalchemy(engine: Engine) -> None:
    with engine.begin() as conn:
        rows = RowWriter(conn)
        t = rows.time
        rows.insert(
            "spans",
            ("name", "start", "end"),
            [("a", t(TIMES[0]), None), ("b", t(TIMES[1]), t(TIMES[2]))],
        )
        rows.insert("spans", ("name", "start"), [])  # nothing to do: no statement
        rows.update("spans", ("end", "name"), "name", [(t(TIMES[3]), "a2", "a")])
        # the time compares with a bound parameter as the column type makes it
        found = conn.execute(select(spans.c.name).where(spans.c.start == TIMES[1])).scalars()
        assert list(found) == ["b"]
    with engine.connect() as conn:
        got = conn.execute(select(spans.c.name, spans.c.start, spans.c.end).order_by("id")).all()
    assert [(n, s, e) for n, s, e in got] == [
        ("a2", TIMES[0], TIMES[3]),
        ("b", TIMES[1], TIMES[2]),
    ]
    assert all(s.tzinfo is not None for _, s, _ in got)


def test_a_row_the_database_refuses_raises_sqlalchemys_integrity_error(engine: Engine) -> None:
    """What the durable consumer takes for one message's fault (dead-lettered, the rest of the
    batch committed), not for a database that is away (retried forever): on PostgreSQL the
    rows go through COPY, outside SQLAlchemy's statement execution."""
    with engine.begin() as conn:
        first = RowWriter(conn)
        first.insert("spans", ("name", "start"), [("a", first.time(TIMES[0]))])
    with engine.begin() as conn:
        rows = RowWriter(conn)
        again = [("b", rows.time(TIMES[1])), ("a", rows.time(TIMES[2]))]
        with pytest.raises(IntegrityError):
            rows.insert("spans", ("name", "start"), again)
        conn.rollback()
    with engine.connect() as conn:
        assert list(conn.execute(select(spans.c.name)).scalars()) == ["a"]
