"""Drain the outbox to the broker, in order, with one leader among the MES replicas.

Only the replica holding the leader lock publishes (PostgreSQL: a session advisory lock held on
a dedicated connection; SQLite: an exclusive file lock beside the database file). The leader
publishes pending rows in id order at QoS 1 and marks a row published only after its PUBACK, so
a broker outage or a crash leads to a resend (the ERP de-duplicates by message_id), never to a
loss. Rows of one work order get increasing ids in commit order, because every report locks the
work-order row before it writes: confirmations of one order therefore leave in order, even with
several replicas. Plain `SKIP LOCKED` draining by several publishers could reorder them.
"""

import fcntl
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select, update

from mes.core.clock import utcnow
from mes.outbox.models import OutboxMessage

log = logging.getLogger(__name__)

#: Key of the PostgreSQL advisory lock that elects the relay leader.
RELAY_LOCK = 0x5F5EED02


class PendingPublish(Protocol):
    def wait(self, timeout: float) -> bool:
        """True once the broker acknowledged (PUBACK)."""
        ...


class Publisher(Protocol):
    def is_connected(self) -> bool: ...

    def publish(self, topic: str, payload: bytes) -> PendingPublish: ...


class LeaderLock(Protocol):
    def acquire(self) -> bool:
        """Non-blocking: True while this process holds the lock."""
        ...

    def release(self) -> None: ...


class PostgresLeaderLock:
    def __init__(self, engine: Engine, key: int = RELAY_LOCK) -> None:
        self.engine = engine
        self.key = key
        self._conn: Connection | None = None

    def acquire(self) -> bool:
        try:
            if self._conn is not None:
                self._conn.execute(text("SELECT 1"))
                return True
            conn = self.engine.connect()
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
            conn.commit()
            if got:
                self._conn = conn
                log.info("outbox relay: this replica is the leader")
                return True
            conn.close()
            return False
        except SQLAlchemyError as exc:
            log.warning("outbox relay: leader lock lost: %s", exc.__class__.__name__)
            self.release()
            return False

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                conn.commit()
            except SQLAlchemyError:
                pass
            conn.close()


class FileLeaderLock:
    """For SQLite: the replicas share the database file, so they share a lock file beside it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = None

    def acquire(self) -> bool:
        if self._fh is not None:
            return True
        fh = open(self.path, "a")  # noqa: SIM115 - held open while leader
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return False
        self._fh = fh
        return True

    def release(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            fh.close()


class AlwaysLeader:
    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


def leader_lock_for(engine: Engine) -> LeaderLock:
    if engine.dialect.name == "postgresql":
        return PostgresLeaderLock(engine)
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        return FileLeaderLock(Path(os.path.abspath(database) + ".relay.lock"))
    return AlwaysLeader()


class OutboxRelay:
    """`drain()` publishes what is pending; call it from a loop or a scheduler job."""

    def __init__(
        self,
        engine: Engine,
        publisher: Publisher,
        topic_for: Callable[[str], str],
        lock: LeaderLock | None = None,
        batch: int = 200,
        ack_timeout_s: float = 10.0,
    ) -> None:
        self.engine = engine
        self.publisher = publisher
        self.topic_for = topic_for
        self.lock = lock or leader_lock_for(engine)
        self.batch = batch
        self.ack_timeout_s = ack_timeout_s

    def drain(self) -> int:
        """Publish pending messages until none is left or the broker stops acknowledging."""
        total = 0
        while True:
            n, complete = self._drain_batch()
            total += n
            if not complete or n < self.batch:
                return total

    def _drain_batch(self) -> tuple[int, bool]:
        if not self.lock.acquire() or not self.publisher.is_connected():
            return 0, False
        with Session(self.engine) as session:
            rows = session.exec(
                select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.payload)
                .where(col(OutboxMessage.published_at).is_(None))
                .order_by(col(OutboxMessage.id))
                .limit(self.batch)
            ).all()
        if not rows:
            return 0, True
        pending = [
            (row_id, self.publisher.publish(self.topic_for(kind), payload.encode()))
            for row_id, kind, payload in rows
        ]
        acked: list[int] = []
        for row_id, handle in pending:
            if not handle.wait(self.ack_timeout_s):
                break
            assert row_id is not None
            acked.append(row_id)
        if acked:
            with Session(self.engine) as session:
                session.exec(
                    update(OutboxMessage)
                    .where(col(OutboxMessage.id).in_(acked))
                    .values(published_at=utcnow())
                )
                session.commit()
        return len(acked), len(acked) == len(pending)

    def close(self) -> None:
        self.lock.release()
