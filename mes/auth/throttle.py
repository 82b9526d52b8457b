"""Backoff after failed logins (pure; the clock is injected).

Each user name and each client address has its own count of recent failures. Past the free
failures, every further failure locks that key for `base_delay_s`, doubled per failure up to
`max_delay_s`; a login for a locked key is not even checked (429 with Retry-After). A success
clears the user's count, not the address's. Failures older than `forget_after_s` are forgotten.

The arithmetic is `current`, `after_failure` and `wait` over one key's `Failures`;
`LoginThrottle` keeps the records in this process's memory, and
`mes.auth.throttle_store.SharedLoginThrottle` keeps them in the database for every replica.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from config.security import LoginThrottle as Settings

#: Keys kept at most; the stalest are dropped first (a flood of invented user names stays small).
MAX_KEYS = 50_000

Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Failures:
    """One key's recent failures; times are seconds on the throttle's clock."""

    count: int
    last: float
    locked_until: float


def free_failures(settings: Settings, kind: str) -> int:
    return settings.free_failures_per_user if kind == "user" else settings.free_failures_per_address


def current(rec: Failures | None, now: float, settings: Settings) -> Failures | None:
    """The record as it counts now: None once its last failure is older than forget_after_s."""
    if rec is None or now - rec.last > settings.forget_after_s:
        return None
    return rec


def after_failure(rec: Failures | None, kind: str, now: float, settings: Settings) -> Failures:
    """The record after one more failure at `now`."""
    rec = current(rec, now, settings)
    count = 1 if rec is None else rec.count + 1
    locked_until = now if rec is None else rec.locked_until
    over = count - free_failures(settings, kind)
    if over > 0:
        delay = min(settings.base_delay_s * 2 ** (over - 1), settings.max_delay_s)
        locked_until = now + delay
    return Failures(count, now, locked_until)


def wait(rec: Failures | None, now: float, settings: Settings) -> float:
    """Seconds this key stays locked; 0: a login is checked now."""
    rec = current(rec, now, settings)
    return 0.0 if rec is None else max(0.0, rec.locked_until - now)


def keys(username: str, address: str) -> list[Key]:
    """The keys of one login, always in this order (replicas locking both rows of a failure
    lock them in one order: no deadlock)."""
    return [("address", address), ("user", username)]


class LoginThrottle:
    """The records in this process's memory (also the fallback of the shared throttle)."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._keys: dict[Key, Failures] = {}

    def retry_after(self, username: str, address: str) -> float:
        """Seconds until a login for this user from this address is checked again; 0: now."""
        now = self._clock()
        return max(wait(self._keys.get(key), now, self.settings) for key in keys(username, address))

    def failed(self, username: str, address: str) -> None:
        now = self._clock()
        for key in keys(username, address):
            self._keys[key] = after_failure(self._keys.get(key), key[0], now, self.settings)
        if len(self._keys) > MAX_KEYS:
            stalest = sorted(self._keys, key=lambda k: self._keys[k].last)
            for key in stalest[: len(self._keys) - MAX_KEYS]:
                del self._keys[key]

    def succeeded(self, username: str) -> None:
        self._keys.pop(("user", username), None)
