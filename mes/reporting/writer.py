"""The scan writer: group-commits station requests, one transaction per batch.

Requests from all HTTP workers are queued; the writer takes up to `max_batch` at a time, runs
each action (inside its own SAVEPOINT once a request of the batch was refused: a refusal then
rolls back that request's effects only), commits the batch once, and only then resolves each
request's future. An answer therefore always means "committed": nothing acknowledged is lost.
If the batch commit fails, every request of the batch is retried alone, so one bad request
cannot fail its neighbours.

On SQLite the batch opens with BEGIN IMMEDIATE: the write lock is taken up front, never
upgraded halfway (the pysqlite driver would otherwise start the transaction at the first
SAVEPOINT and end it at the first RELEASE).
"""

import asyncio
import logging
import queue
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from mes.core import journal
from mes.core.batch import begin, forget_rows
from mes.production.holds import HoldPolicy
from mes.reporting.batch import ScanBatch
from mes.reporting.handler import (
    Answer,
    EventIdReused,
    NeedsIsolation,
    StationHandler,
    StationRequest,
)
from mes.reporting.jobs import track_jobs

log = logging.getLogger(__name__)

_Item = tuple[StationRequest, "Future[Answer]"]


class WriterStopped(RuntimeError):
    """The writer is not running; the request was not processed (safe to resend)."""


class ScanWriter:
    """`lanes` writer threads, each with its own queue; a station always uses the same lane,
    so one station's requests are handled in order and never concurrently. SQLite has one lane
    (one writer at a time is all it allows). PostgreSQL may have several, so that one lane's
    database round trips overlap with another's work; on a local database one lane is faster
    (measured: 156 scans/s with one lane, 121 with two, 80 with four), because the work is
    bound by the interpreter lock and larger batches share their fixed cost."""

    def __init__(
        self,
        engine: Engine,
        handler: StationHandler,
        holds: HoldPolicy,
        max_batch: int = 128,
        after_commit: Callable[[], object] | None = None,
        lanes: int = 1,
        group_delay_s: float | None = 0.0,
    ) -> None:
        self.engine = engine
        #: called after each committed batch (wakes the outbox relay)
        self.after_commit = after_commit
        self.handler = handler
        #: gates the batch's hold lookups (`HoldPolicy.gate`)
        self.holds = holds
        self.max_batch = max_batch
        self._sqlite = engine.dialect.name == "sqlite"
        #: under load, wait this long for more requests before a batch (see `_serve`); None:
        #: the default, 2 ms on PostgreSQL and none on SQLite, where a commit costs little
        #: and the wait only adds latency
        if group_delay_s is None:
            group_delay_s = 0.0 if self._sqlite else 0.002
        self.group_delay_s = group_delay_s
        self.lanes = 1 if self._sqlite else lanes
        self._queues: list[queue.Queue[_Item | None]] = [queue.Queue() for _ in range(self.lanes)]
        self._threads: list[threading.Thread] = []
        self._count_lock = threading.Lock()
        self._local = threading.local()
        self.batches = 0
        self.requests = 0
        #: CPU time the writer threads spent on batches (thread time: excludes waiting)
        self.cpu_seconds = 0.0

    def start(self) -> None:
        if not self._threads:
            for i, q in enumerate(self._queues):
                thread = threading.Thread(
                    target=self._run, args=(q,), name=f"scan-writer-{i}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        for q in self._queues:
            q.put(None)
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def submit(self, request: StationRequest) -> "Future[Answer]":
        future: Future[Answer] = Future()
        if not self._threads:
            future.set_exception(WriterStopped("scan writer is not running"))
            return future
        lane = zlib.crc32(request.station.encode()) % self.lanes
        self._queues[lane].put((request, future))
        return future

    async def process(self, request: StationRequest) -> Answer:
        return await asyncio.wrap_future(self.submit(request))

    # -- the writer thread ---------------------------------------------------------------

    def _run(self, lane: "queue.Queue[_Item | None]") -> None:
        try:
            self._serve(lane)
        finally:
            self._drop_connection(failed=False)

    def _serve(self, lane: "queue.Queue[_Item | None]") -> None:
        previous = 0
        while True:
            first = lane.get()
            if first is None:
                return
            if self.group_delay_s and previous > 1 and lane.qsize() + 1 < previous:
                # under load, fewer requests wait than the last batch held: the rest are on
                # their way; a short pause lets them join this commit (PostgreSQL's
                # commit_delay idea). One larger batch costs less than two small ones. The
                # pause is a plain sleep: waking per arriving request would fight the
                # request threads for the interpreter lock.
                time.sleep(self.group_delay_s)
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    item = lane.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            previous = len(batch)
            started = time.thread_time()
            try:
                self._process(batch)
            except Exception:  # the writer must outlive anything one batch does
                log.exception("scan writer: batch of %d failed", len(batch))
                for _, future in batch:
                    _resolve(future, WriterStopped("the scan could not be stored; resend it"))
            with self._count_lock:
                self.cpu_seconds += time.thread_time() - started
            if stop:
                return

    def _process(self, batch: list[_Item]) -> None:
        try:
            results = self._transaction(batch)
        except Exception:  # noqa: BLE001 - retried one by one below, each failure reported
            log.warning("scan batch of %d failed to commit; retrying one by one", len(batch))
            self._drop_connection()  # it may be the connection that failed
            if len(batch) == 1:
                self._fail(batch[0][1])
                return
            for item in batch:
                self._process([item])
            return
        with self._count_lock:
            self.batches += 1
            self.requests += len(batch)
        if self.after_commit is not None:
            try:
                self.after_commit()
            except Exception:
                log.exception("after-commit hook failed")
        for (_, future), result in zip(batch, results, strict=True):
            _resolve(future, result)

    def _transaction(self, batch: list[_Item]) -> list[Answer | BaseException]:
        """Most batches refuse nothing: they run without per-request savepoints (two
        statements and a flush less per request). A refusal discards that attempt and the
        batch runs again with each request in its own SAVEPOINT, so that only the refused
        request's effects are rolled back."""
        try:
            return self._attempt(batch, isolate=False)
        except NeedsIsolation:
            return self._attempt(batch, isolate=True)

    def _connection(self) -> Connection:
        """The lane's own connection, kept between batches: a pool checkout (with its
        liveness ping, a round trip) per batch cost more than a small batch's writes. A batch
        that fails drops it, and the retry connects anew."""
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.invalidated:
            conn = self._local.conn = self.engine.connect()
        return conn

    def _drop_connection(self, failed: bool = True) -> None:
        conn: Connection | None = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            try:
                if failed:
                    conn.invalidate()
                else:
                    conn.close()
            except Exception:  # it is being thrown away
                log.debug("closing the writer connection", exc_info=True)

    def _attempt(self, batch: list[_Item], isolate: bool) -> list[Answer | BaseException]:
        results: list[Answer | BaseException] = []
        with Session(self._connection(), expire_on_commit=False) as session:
            if self._sqlite:
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            context = ScanBatch()
            begin(session, context)
            event.listen(session, "after_soft_rollback", lambda s, _tx: forget_rows(s))
            track_jobs(session, context)
            self.holds.gate(session, context)
            self.handler.prefetch(
                session,
                [request.event_id for request, _ in batch],
                [request.station for request, _ in batch],
            )
            for request, _ in batch:
                # Isolated, the handler rolls a refused action back to its own SAVEPOINT;
                # anything else that fails here fails the batch, which is then retried one
                # request at a time.
                try:
                    results.append(self.handler.handle(session, request, isolate))
                except EventIdReused as exc:
                    results.append(exc)
            journal.flush(session)
            session.commit()
        return results

    @staticmethod
    def _fail(future: "Future[Answer]") -> None:
        log.exception("scan request could not be committed")
        _resolve(future, WriterStopped("the scan could not be stored; resend it"))


def _resolve(future: "Future[Answer]", result: "Answer | BaseException") -> None:
    """Hand the outcome to the waiting request; a caller that went away (cancelled) is fine:
    the scan is committed all the same and a resend gets the stored answer."""
    if future.done():
        return
    try:
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)
    except InvalidStateError:
        pass
