"""Named callers of the agent's write API: each holds its own bearer token; the plant file keeps
only the token's SHA-256 (`edge.api_tokens`), so a leaked plant file writes nothing."""

import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

#: the name `edge.api_token` (one unnamed token, kept for older plant files) is audited under
LEGACY_NAME = "api_token"
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$")


def token_hash(token: str) -> str:
    """The form a token is stored in: SHA-256, hex (tokens are 256-bit random, no salt needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


class CallerTokens:
    """Who a bearer token belongs to. Every stored hash is compared, in constant time, whatever
    matched: the answer time tells nothing about which token or how much of it was right."""

    def __init__(self, hashes: Mapping[str, str], legacy_token: str | None = None) -> None:
        self._hashes = dict(hashes)
        if legacy_token:
            self._hashes.setdefault(LEGACY_NAME, token_hash(legacy_token))

    @property
    def enabled(self) -> bool:
        return bool(self._hashes)

    def identify(self, authorization: str) -> str | None:
        """The caller's name for an `Authorization` header value, or None."""
        scheme, _, token = authorization.partition(" ")
        digest = token_hash(token.strip()) if scheme.lower() == "bearer" else "-"
        found = None
        for name, stored in self._hashes.items():
            if hmac.compare_digest(digest, stored):
                found = name
        return found


class RefusalBudget:
    """How many refused attempts per client address are audited and logged: `burst` at once,
    refilled at `per_minute`; the rest are only counted, and the count goes with the next
    entry that is written. A flood of bad tokens cannot fill the disk with audit lines."""

    def __init__(
        self,
        burst: int = 20,
        per_minute: float = 20.0,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 1024,
    ) -> None:
        self.burst, self.rate, self.clock = burst, per_minute / 60.0, clock
        self.max_clients = max_clients
        self._clients: OrderedDict[str, list[float]] = OrderedDict()  # [tokens, at, suppressed]

    def take(self, client: str) -> int | None:
        """None when this attempt is not to be written; else how many were suppressed since
        the last written one."""
        now = self.clock()
        state = self._clients.pop(client, None) or [float(self.burst), now, 0.0]
        state[0] = min(self.burst, state[0] + (now - state[1]) * self.rate)
        state[1] = now
        self._clients[client] = state
        while len(self._clients) > self.max_clients:
            self._clients.popitem(last=False)
        if state[0] < 1:
            state[2] += 1
            return None
        state[0] -= 1
        suppressed, state[2] = int(state[2]), 0.0
        return suppressed
