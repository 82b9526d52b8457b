"""Portable SQL pieces the dashboard's aggregates need (SQLite and PostgreSQL): seconds between
two timestamps and the later/earlier of two."""

from datetime import datetime
from typing import Any

from sqlalchemy import Float, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session
from sqlmodel.sql.sqltypes import UTCDateTime


def when(at: datetime) -> ColumnElement[Any]:
    """A timestamp parameter stored the way the tables store theirs."""
    return literal(at, type_=UTCDateTime())


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def seconds(session: Session, start: Any, end: Any) -> ColumnElement[float]:
    if _sqlite(session):
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return cast(func.extract("epoch", end - start), Float)


def later(session: Session, a: Any, b: Any) -> ColumnElement[Any]:
    return func.max(a, b) if _sqlite(session) else func.greatest(a, b)


def earlier(session: Session, a: Any, b: Any) -> ColumnElement[Any]:
    return func.min(a, b) if _sqlite(session) else func.least(a, b)


#: the Unix epoch as a Julian day number (SQLite's julianday)
_UNIX_JULIAN_DAY = 2440587.5


def hours(session: Session, at: Any) -> ColumnElement[float]:
    """A timestamp as hours since the Unix epoch: a float to fetch, not a string to parse."""
    if _sqlite(session):
        return (func.julianday(at) - _UNIX_JULIAN_DAY) * 24.0
    return cast(func.extract("epoch", at) / 3600.0, Float)


def hours_of(at: datetime) -> float:
    """The same scale in Python."""
    return at.timestamp() / 3600
