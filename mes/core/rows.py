"""Many rows in one driver `executemany`, with parameters made as SQLAlchemy would bind them.

A Core `insert()` executemany runs every value of every row through the column types' bind
processors (the aware-datetime type, then the dialect's own): on the state consumer's hot path
that was a quarter of its time. Here the caller gives plain tuples; the only conversion is the
one time values need (`RowWriter.time`), made once per value with a C-level `isoformat`.
What the tables read back is unchanged: the test pins `sqlite_time` to SQLAlchemy's own
binding of `UTCDateTime`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError


def sqlite_time(value: datetime | None) -> str | None:
    """An aware datetime as SQLite stores a `UTCDateTime`: UTC, `YYYY-MM-DD HH:MM:SS.ffffff`."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        if value.utcoffset() is None:
            raise ValueError(f"{value}: a stored time must be timezone-aware")
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def server_time(value: datetime | None) -> datetime | None:
    """An aware datetime for a server with time zones (PostgreSQL `timestamptz`): as it is."""
    if value is not None and value.tzinfo is not UTC and value.utcoffset() is None:
        raise ValueError(f"{value}: a stored time must be timezone-aware")
    return value


def memoised(convert: Callable[[datetime | None], Any]) -> Callable[[datetime | None], Any]:
    """`convert`, made once per datetime object: consecutive intervals share a time object
    (one's end is the next one's start), so do a stop's interval and its downtime event."""
    seen: dict[int, tuple[datetime, Any]] = {}

    def once(value: datetime | None) -> Any:
        if value is None:
            return None
        hit = seen.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        out = convert(value)
        seen[id(value)] = (value, out)  # holds `value`: its id is not reused meanwhile
        return out

    return once


class RowWriter:
    """Driver-level executemany on the caller's connection (inside its transaction): one
    writer per transaction (its time conversion remembers the times it made)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        sqlite = conn.dialect.name == "sqlite"
        self._mark = "?" if sqlite else "%s"
        self._copy = conn.dialect.driver == "psycopg"
        #: the time parameter for this database
        self.time: Callable[[datetime | None], Any] = (
            memoised(sqlite_time) if sqlite else server_time
        )

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        names = ", ".join(f'"{c}"' for c in columns)
        if self._copy:
            self._copy_in(f"COPY {table} ({names}) FROM STDIN", rows)
            return
        marks = ", ".join(self._mark for _ in columns)
        self.conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(rows))

    def _copy_in(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """PostgreSQL: the rows through COPY (formatted by psycopg's C code, one round trip);
        the driver's errors come out as SQLAlchemy's, as from any statement."""
        dbapi = self.conn.connection.dbapi_connection
        assert dbapi is not None
        driver: Any = dbapi
        try:
            with driver.cursor() as cursor, cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        except self.conn.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(
                sql, None, exc, self.conn.dialect.loaded_dbapi.Error, dialect=self.conn.dialect
            ) from exc

    def update(
        self,
        table: str,
        columns: Sequence[str],
        key: str,
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        """`rows`: the new values of `columns`, then the key, per row."""
        if not rows:
            return
        sets = ", ".join(f'"{c}" = {self._mark}' for c in columns)
        self.conn.exec_driver_sql(
            f'UPDATE {table} SET {sets} WHERE "{key}" = {self._mark}', list(rows)
        )
