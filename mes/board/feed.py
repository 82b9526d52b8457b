"""The board's one change feed: any commit on the MES database pokes it; it rebuilds the board
at most once per `debounce_s` or per twice the last rebuild's duration, whichever is longer (at
most a third of a core under a stream of commits), and every `refresh_s` (what time alone
changes: OEE, the forecast), and sends each subscriber only the changes, encoded once for all.
No polling per tile or per browser.

Thread-safe `poke()` (SQLAlchemy commit events fire on any thread); the rebuild runs on a worker
thread; subscribers are asyncio queues on the app's loop. `close()` ends every stream (shutdown).
"""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from mes.board.changes import changes
from mes.board.snapshot import PlanOf, board
from mes.performance.units import Unit

if TYPE_CHECKING:
    from config.plant import PlantConfig

log = logging.getLogger(__name__)

#: a server-sent event, encoded once for every subscriber; None: the stream ends
Message = bytes | None


def sse(kind: str, payload: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(payload, default=str)}\n\n".encode()


class BoardFeed:
    def __init__(
        self,
        build: Callable[[], dict[str, Any]],
        *,
        debounce_s: float = 0.5,
        refresh_s: float = 30.0,
        queue_size: int = 64,
    ) -> None:
        self._build = build
        self.debounce_s = debounce_s
        self.refresh_s = refresh_s
        self._queue_size = queue_size
        self._subs: list[asyncio.Queue[Message]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()
        self._last: dict[str, Any] | None = None
        self._closed = False
        self._engine: Engine | None = None
        #: how the board reads the current plan (set by `board_feed`)
        self.plan_of: PlanOf | None = None
        #: boards built since start, and how long the last one took (tests, the bench)
        self.builds = 0
        self.last_build_s = 0.0

    # --- the database side ---------------------------------------------------------------

    def watch(self, engine: Engine) -> None:
        """Poke on every commit of `engine` (scans, holds, work-order actions, states...)."""
        self._engine = engine
        event.listen(engine, "commit", self._on_commit)

    def _on_commit(self, _conn: Any) -> None:
        self.poke()

    def poke(self) -> None:
        """Something changed: rebuild soon. Any thread; cheap when nobody is watching."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or self._closed:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed
            loop.call_soon_threadsafe(wake.set)

    # --- the browser side ----------------------------------------------------------------

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    async def subscribe(self) -> "asyncio.Queue[Message]":
        """A queue that starts with the whole board, then gets its changes."""
        q: asyncio.Queue[Message] = asyncio.Queue(self._queue_size)
        if self._closed:
            q.put_nowait(None)
            return q
        async with self._starting:  # boards opening together start one feed, not one each
            if self._task is None or self._task.done():
                self._loop = asyncio.get_running_loop()
                self._wake = asyncio.Event()
                self._last = await asyncio.to_thread(self._built)
                self._task = asyncio.create_task(self._run(), name="board-feed")
        assert self._last is not None
        q.put_nowait(sse("snapshot", self._last))
        self._subs.append(q)
        return q

    def unsubscribe(self, q: "asyncio.Queue[Message]") -> None:
        self._subs = [s for s in self._subs if s is not q]

    def close(self) -> None:
        """End every stream and stop rebuilding (any thread)."""
        self._closed = True
        if self._engine is not None and event.contains(self._engine, "commit", self._on_commit):
            event.remove(self._engine, "commit", self._on_commit)
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._end)

    def _end(self) -> None:
        for q in self._subs:
            _offer(q, None, None)
        if self._task is not None:
            self._task.cancel()

    def _built(self) -> dict[str, Any]:
        self.builds += 1
        return self._build()

    async def _run(self) -> None:
        assert self._wake is not None
        while self._subs and not self._closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.refresh_s)
            # a burst of commits is one rebuild; and the board takes at most a third of a core
            # from the scans: the next rebuild waits at least twice as long as the last took
            await asyncio.sleep(max(self.debounce_s, 2 * self.last_build_s))
            self._wake.clear()
            started = time.monotonic()
            try:
                board = await asyncio.to_thread(self._built)
            except Exception:  # a database hiccup: keep the streams, try on the next change
                log.exception("board rebuild failed")
                continue
            finally:
                self.last_build_s = time.monotonic() - started
            diff = changes(self._last or {}, board)
            self._last = board
            if diff is not None:
                message = sse("changes", diff)
                for q in list(self._subs):
                    _offer(q, message, board)
        self._task = None


def _offer(q: "asyncio.Queue[Message]", msg: Message, board: dict[str, Any] | None) -> None:
    """A slow browser that fell behind gets the whole board again instead of a backlog."""
    if q.full():
        while not q.empty():
            q.get_nowait()
        if msg is not None and board is not None:
            msg = sse("snapshot", board)
    q.put_nowait(msg)


def board_feed(
    cfg: "PlantConfig",
    engine: Engine,
    units: Mapping[str, Unit],
    plan_of: PlanOf | None = None,
) -> BoardFeed:
    """The feed of the plant's board, poked by every commit on `engine`."""

    def build() -> dict[str, Any]:
        with Session(engine) as session:
            return board(session, cfg, units, plan_of=plan_of).model_dump(mode="json")

    feed = BoardFeed(build)
    feed.plan_of = plan_of
    feed.watch(engine)
    return feed
