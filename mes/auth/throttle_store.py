"""The login backoff kept in the database, so that every MES replica counts the same failures
and a restart keeps its locks (the arithmetic is mes.auth.throttle's).

Each call is one short transaction. A failure locks its rows (`SELECT ... FOR UPDATE` on
PostgreSQL; SQLite serialises writers anyway), so two replicas failing one key at once both
count. Rows older than `forget_after_s` are ignored and deleted on the next failure, and past
`max_keys` rows the stalest go (a flood of invented user names stays small).

When the database fails, the throttle falls back to this process's memory, which every
failure also updates, and logs it: a login is never let through unthrottled nor answered 500.
"""

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from config.security import LoginThrottle as Settings
from mes.auth.models import LoginFailure
from mes.auth.throttle import MAX_KEYS, Failures, Key, LoginThrottle, after_failure, keys, wait
from mes.core.clock import aware

log = logging.getLogger(__name__)


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _failures(row: LoginFailure | None) -> Failures | None:
    if row is None:
        return None
    return Failures(row.count, aware(row.last_at).timestamp(), aware(row.locked_until).timestamp())


class SharedLoginThrottle:
    """`LoginThrottle`'s interface over the `login_failure` table (wall-clock UTC seconds)."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        clock: Callable[[], float] = time.time,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.settings = settings
        self._engine = engine
        self._clock = clock
        self._max_keys = max_keys
        #: this process's failures: the answer while the database fails
        self.fallback = LoginThrottle(settings, clock)

    def retry_after(self, username: str, address: str) -> float:
        """Seconds until a login for this user from this address is checked again; 0: now."""
        local = self.fallback.retry_after(username, address)
        now = self._clock()
        try:
            with Session(self._engine) as session:
                rows = [session.get(LoginFailure, key) for key in keys(username, address)]
        except SQLAlchemyError:
            log.exception("login throttle: database unreadable, using this process's counts")
            return local
        return max([local, *(wait(_failures(row), now, self.settings) for row in rows)])

    def failed(self, username: str, address: str) -> None:
        self.fallback.failed(username, address)
        now = self._clock()
        try:
            with Session(self._engine) as session:
                for key in keys(username, address):
                    self._count(session, key, now)
                self._prune(session, now)
                session.commit()
        except SQLAlchemyError:
            log.exception("login throttle: failure not stored, counted in this process only")

    def succeeded(self, username: str) -> None:
        self.fallback.succeeded(username)
        try:
            with Session(self._engine) as session:
                session.execute(
                    delete(LoginFailure).where(
                        col(LoginFailure.kind) == "user", col(LoginFailure.key) == username
                    )
                )
                session.commit()
        except SQLAlchemyError:
            log.exception("login throttle: success not stored; the user's count stays")

    def _count(self, session: Session, key: Key, now: float) -> None:
        kind, name = key
        # make sure the row exists, then lock it: concurrent failures queue on the lock
        # (and on SQLite this first write takes the database's write lock before the read)
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(
            insert(LoginFailure)
            .values(kind=kind, key=name, count=0, last_at=_at(now), locked_until=_at(now))
            .on_conflict_do_nothing(index_elements=["kind", "key"])
        )
        row = session.exec(
            select(LoginFailure)
            .where(col(LoginFailure.kind) == kind, col(LoginFailure.key) == name)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        was = _failures(row) if row.count > 0 else None
        rec = after_failure(was, kind, now, self.settings)
        row.count, row.last_at, row.locked_until = rec.count, _at(rec.last), _at(rec.locked_until)
        session.add(row)
        session.flush()

    def _prune(self, session: Session, now: float) -> None:
        forgotten = _at(now) - timedelta(seconds=self.settings.forget_after_s)
        session.execute(delete(LoginFailure).where(col(LoginFailure.last_at) < forgotten))
        kept = session.exec(select(func.count()).select_from(LoginFailure)).one()
        if kept > self._max_keys:
            cutoff = session.exec(
                select(LoginFailure.last_at)
                .order_by(col(LoginFailure.last_at).desc())
                .offset(self._max_keys)
                .limit(1)
            ).one()
            session.execute(delete(LoginFailure).where(col(LoginFailure.last_at) <= cutoff))
