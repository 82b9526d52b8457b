"""Backoff after failed logins (pure; the clock is injected).

Each user name and each client address has its own count of recent failures. Past the free
failures, every further failure locks that key for `base_delay_s`, doubled per failure up to
`max_delay_s`; a login for a locked key is not even checked (429 with Retry-After). A success
clears the user's count, not the address's. Failures older than `forget_after_s` are forgotten.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from config.security import LoginThrottle as Settings

#: Keys kept at most; the stalest are dropped first (a flood of invented user names stays small).
MAX_KEYS = 50_000


@dataclass(slots=True)
class _Failures:
    count: int
    last: float
    locked_until: float


class LoginThrottle:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._keys: dict[tuple[str, str], _Failures] = {}

    def _free(self, kind: str) -> int:
        s = self.settings
        return s.free_failures_per_user if kind == "user" else s.free_failures_per_address

    def _get(self, key: tuple[str, str], now: float) -> _Failures | None:
        rec = self._keys.get(key)
        if rec is not None and now - rec.last > self.settings.forget_after_s:
            del self._keys[key]
            return None
        return rec

    def retry_after(self, username: str, address: str) -> float:
        """Seconds until a login for this user from this address is checked again; 0: now."""
        now = self._clock()
        wait = 0.0
        for key in (("user", username), ("address", address)):
            rec = self._get(key, now)
            if rec is not None:
                wait = max(wait, rec.locked_until - now)
        return wait

    def failed(self, username: str, address: str) -> None:
        now = self._clock()
        s = self.settings
        for key in (("user", username), ("address", address)):
            rec = self._get(key, now) or _Failures(0, now, now)
            rec.count += 1
            rec.last = now
            over = rec.count - self._free(key[0])
            if over > 0:
                rec.locked_until = now + min(s.base_delay_s * 2 ** (over - 1), s.max_delay_s)
            self._keys[key] = rec
        if len(self._keys) > MAX_KEYS:
            stalest = sorted(self._keys, key=lambda k: self._keys[k].last)
            for key in stalest[: len(self._keys) - MAX_KEYS]:
                del self._keys[key]

    def succeeded(self, username: str) -> None:
        self._keys.pop(("user", username), None)
