"""The durable outbox: every outbound MQTT message waits here, on disk, until the broker acks it.

One SQLite file in WAL mode. Rows are kept in id order (the order they were accepted); the
publisher reads them in that order and removes a row only when the broker acknowledged it.
The queue is bounded by payload bytes and optionally by age; when full it either drops the
oldest rows or refuses new ones (`when_full`), and counts what it dropped, in messages and in
telemetry values. Small named counters (the telemetry `seq` of each device) live in the same
file and are written in the same transaction as the messages that carry them.

Not thread-safe: one thread (the publisher's pump) owns an instance.
"""

import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from config.files import private_file

WhenFull = Literal["drop_oldest", "refuse_new"]
Synchronous = Literal["OFF", "NORMAL", "FULL"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    created_ms INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    n_values INTEGER NOT NULL,
    size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to publish. `values` is how many telemetry values it carries (0 otherwise)."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False
    values: int = 0

    @property
    def size(self) -> int:
        return len(self.payload) + len(self.topic)


@dataclass(frozen=True, slots=True)
class Stored:
    """A message as kept in the queue, with its position `id`."""

    id: int
    topic: str
    payload: bytes
    qos: int
    retain: bool
    values: int


@dataclass(slots=True)
class Dropped:
    messages: int = 0
    values: int = 0

    def add(self, messages: int, values: int) -> None:
        self.messages += messages
        self.values += values


class QueueError(Exception):
    """The queue file cannot be opened or written; the message names the file."""


class DurableQueue:
    def __init__(
        self,
        path: str | Path,
        max_bytes: int,
        max_age_s: float | None = None,
        when_full: WhenFull = "drop_oldest",
        synchronous: Synchronous = "NORMAL",
    ) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.max_age_ms = None if max_age_s is None else int(max_age_s * 1000)
        self.when_full = when_full
        self.dropped = Dropped()
        try:
            private_file(self.path)  # 0600; SQLite gives -wal and -shm the same mode
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            # 16 KiB pages: a poll's batch (tens of KB) spans few overflow pages (new files only)
            self._db.execute("PRAGMA page_size=16384")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.executescript(_SCHEMA)
            row = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0), COALESCE(MAX(id), 0) FROM outbox"
            ).fetchone()
        except (sqlite3.Error, OSError) as exc:
            raise QueueError(f"queue file {self.path}: {exc}") from None
        self.depth: int = row[0]
        self.bytes: int = row[1]
        self._next_id: int = row[2] + 1

    # -- writing ---------------------------------------------------------------------------

    def append(
        self, messages: Sequence[Outgoing], counters: Mapping[str, int] | None = None
    ) -> list[int]:
        """Store `messages` (and set `counters`) in one transaction; returns the new ids, in
        order, of the messages kept (a refused message has no id). Enforces the bounds."""
        now = int(time.time() * 1000)
        rows = []
        kept: list[int] = []
        added = 0
        refused = Dropped()
        for m in messages:
            size = m.size
            if self.when_full == "refuse_new" and self.bytes + added + size > self.max_bytes:
                refused.add(1, m.values)
                continue
            rid = self._next_id
            self._next_id += 1
            rows.append((rid, now, m.topic, m.payload, m.qos, int(m.retain), m.values, size))
            kept.append(rid)
            added += size
        db = self._db
        db.execute("BEGIN")
        try:
            db.executemany("INSERT INTO outbox VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            if counters:
                db.executemany(
                    "INSERT INTO counters VALUES (?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                    counters.items(),
                )
            self.depth += len(rows)
            self.bytes += added
            dropped = self._enforce_bounds(now)
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            db.execute("ROLLBACK")
            self._reload_totals()
            raise QueueError(f"queue file {self.path}: {exc}") from None
        self.dropped.add(refused.messages + dropped.messages, refused.values + dropped.values)
        if dropped.messages:
            first_kept = self.first_id()
            kept = [k for k in kept if first_kept is not None and k >= first_kept]
        return kept

    def _enforce_bounds(self, now_ms: int) -> Dropped:
        dropped = Dropped()
        if self.max_age_ms is not None:
            self._drop_older_than(now_ms - self.max_age_ms, dropped)
        if self.bytes > self.max_bytes:
            excess = self.bytes - self.max_bytes
            freed = 0
            last = None
            for rid, size in self._db.execute("SELECT id, size FROM outbox ORDER BY id"):
                freed += size
                last = rid
                if freed >= excess:
                    break
            if last is not None:
                self._delete_where("id <= ?", (last,), dropped)
        return dropped

    def _drop_older_than(self, cutoff_ms: int, into: Dropped) -> None:
        """Rows are in creation order: walk from the oldest, stop at the first young one."""
        last = None
        for rid, created in self._db.execute("SELECT id, created_ms FROM outbox ORDER BY id"):
            if created >= cutoff_ms:
                break
            last = rid
        if last is not None:
            self._delete_where("id <= ?", (last,), into)

    def _delete_where(self, where: str, args: tuple[int, ...], into: Dropped) -> None:
        n = size = values = 0
        for s, v in self._db.execute(
            f"DELETE FROM outbox WHERE {where} RETURNING size, n_values", args
        ):
            n += 1
            size += s
            values += v
        self.depth -= n
        self.bytes -= size
        into.add(n, values)

    def expire(self) -> Dropped:
        """Drop messages older than the age bound (called periodically by the publisher)."""
        if self.max_age_ms is None:
            return Dropped()
        dropped = Dropped()
        self._drop_older_than(int(time.time() * 1000) - self.max_age_ms, dropped)
        self.dropped.add(dropped.messages, dropped.values)
        return dropped

    def remove(self, ids: Iterable[int]) -> None:
        """Remove acknowledged messages (ids already dropped are ignored)."""
        batch = list(ids)
        gone = Dropped()
        for i in range(0, len(batch), _CHUNK):
            chunk = batch[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            self._delete_where(f"id IN ({marks})", tuple(chunk), gone)

    # -- reading ---------------------------------------------------------------------------

    def read(self, from_id: int, limit: int, below_id: int | None = None) -> list[Stored]:
        """Up to `limit` messages with `from_id <= id (< below_id)`, in order."""
        upper = self._next_id if below_id is None else below_id
        cur = self._db.execute(
            "SELECT id, topic, payload, qos, retain, n_values FROM outbox "
            "WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
            (from_id, upper, limit),
        )
        return [Stored(r[0], r[1], r[2], r[3], bool(r[4]), r[5]) for r in cur]

    def first_id(self) -> int | None:
        row = self._db.execute("SELECT MIN(id) FROM outbox").fetchone()
        return None if row[0] is None else int(row[0])

    def counters(self, prefix: str = "") -> dict[str, int]:
        cur = self._db.execute(
            "SELECT name, value FROM counters WHERE substr(name, 1, ?) = ?", (len(prefix), prefix)
        )
        return {name: int(value) for name, value in cur}

    def _reload_totals(self) -> None:
        row = self._db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM outbox").fetchone()
        self.depth, self.bytes = row[0], row[1]

    def close(self) -> None:
        self._db.close()
