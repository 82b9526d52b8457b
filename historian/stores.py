"""Where the historian writes: an InfluxDB-protocol server, or the embedded SQLite store."""

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from influxdb_client.rest import ApiException
from urllib3.exceptions import HTTPError

from config.files import private_file
from historian.points import QUALITY_NAME, Point


class StoreUnavailable(Exception):
    """The store did not accept a write; retry later."""


class StoreRejected(StoreUnavailable):
    """The store refuses the data itself (e.g. HTTP 400): retrying the same batch cannot help."""


class Store(Protocol):
    def write(self, body: bytes, points: Sequence[Point]) -> None:
        """Store a batch or raise StoreUnavailable. Stores use the form they need: `body` is
        the batch as line protocol (newline-terminated lines), `points` the same decoded."""

    def close(self) -> None: ...


class InfluxStore:
    """InfluxDB 2.x/3.x (or VictoriaMetrics) over `/api/v2/write`, line protocol, synchronous:
    `write` returns only once the server accepted the batch."""

    def __init__(self, url: str, token: str | None, org: str, bucket: str) -> None:
        from influxdb_client import InfluxDBClient, WritePrecision
        from influxdb_client.client.write_api import SYNCHRONOUS

        self.bucket = bucket
        self.org = org
        self._precision: Any = WritePrecision.MS
        self._client = InfluxDBClient(
            url=url, token=token or "", org=org, timeout=(2_000, 15_000), retries=False
        )
        self._api = self._client.write_api(write_options=SYNCHRONOUS)

    def write(self, body: bytes, points: Sequence[Point]) -> None:
        if not body:
            return
        try:
            self._api.write(self.bucket, self.org, record=body, write_precision=self._precision)
        except ApiException as exc:
            if exc.status in (400, 422):
                raise StoreRejected(f"HTTP {exc.status}: {exc.body}"[:300]) from None
            raise StoreUnavailable(f"HTTP {exc.status}: {exc.reason}"[:300]) from None
        except (HTTPError, OSError) as exc:  # the batch was not stored
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}"[:300]) from None

    def close(self) -> None:
        self._client.close()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    device TEXT NOT NULL, tag TEXT NOT NULL, ts INTEGER NOT NULL, path TEXT NOT NULL,
    value REAL, text TEXT, quality INTEGER NOT NULL, reason TEXT,
    PRIMARY KEY (device, tag, ts)
) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class Sample:
    ts: int
    device: str
    tag: str
    value: float | str | None
    quality: str
    reason: str | None


class EmbeddedStore:
    """A SQLite file for plants without a time-series server. A redelivered value (same device,
    tag and timestamp) replaces the stored one, so redeliveries never duplicate."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        private_file(self.path)  # 0600; SQLite gives -wal and -shm the same mode
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def write(self, body: bytes, points: Sequence[Point]) -> None:
        rows = [
            (p.device, p.tag, p.ts, p.path, p.value, p.text, p.quality, p.reason) for p in points
        ]
        try:
            with self._lock:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT OR REPLACE INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
                )
                self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise StoreUnavailable(f"{self.path}: {exc}") from None

    def close(self) -> None:
        self._db.close()


def query_history(
    path: str | Path, tag: str, since_ms: int, device: str | None = None, limit: int = 10_000
) -> list[Sample]:
    """Samples of `tag` (of `device`, or of every device) since `since_ms`, oldest first.
    The small query the MES (or `shopfloor history`) serves from the embedded store."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no embedded history at {p}")
    db = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
    try:
        sql = (
            "SELECT ts, device, tag, value, text, quality, reason FROM samples "
            "WHERE tag = ? AND ts >= ?"
        )
        args: list[object] = [tag, since_ms]
        if device is not None:
            sql += " AND device = ?"
            args.append(device)
        sql += " ORDER BY ts, device LIMIT ?"
        args.append(limit)
        return [
            Sample(ts, dev, t, text if text is not None else value, QUALITY_NAME[q], reason)
            for ts, dev, t, value, text, q, reason in db.execute(sql, args)
        ]
    finally:
        db.close()
