"""Login work off the request threads: password checks (argon2, ~50 ms of CPU each) run on a
few threads of their own, and logins waiting beyond a queue limit are turned away. A login
flood therefore takes at most `hash_workers` cores and never the threads scans and pages need."""

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy.engine import Engine

from config.security import LoginThrottle as Settings
from mes.auth.throttle import LoginThrottle
from mes.auth.throttle_store import SharedLoginThrottle

T = TypeVar("T")


class LoginBusy(Exception):
    """Too many logins are waiting for a password check."""


class LoginGate:
    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        #: shared by the replicas through the database; without one, this process's memory
        self.throttle: LoginThrottle | SharedLoginThrottle = (
            LoginThrottle(settings) if engine is None else SharedLoginThrottle(settings, engine)
        )
        self._pool = ThreadPoolExecutor(settings.hash_workers, thread_name_prefix="login")
        self._queue_limit = settings.hash_queue
        self._waiting = 0
        self._lock = threading.Lock()

    @property
    def waiting(self) -> int:
        """Logins running or waiting for a hash thread."""
        return self._waiting

    async def run(self, work: Callable[[], T]) -> T:
        with self._lock:
            if self._waiting >= self._queue_limit:
                raise LoginBusy("too many logins at once; retry shortly")
            self._waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, work)
        finally:
            with self._lock:
                self._waiting -= 1

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
