"""Operators' PINs (pure but for the in-memory lockout): stored as salted PBKDF2-SHA256.

A PIN is checked on the scan writer's thread at a badge login, so its hash is cheap (~5 ms);
what protects a 4-digit PIN is the lockout: after `FREE_FAILURES` wrong PINs a badge is locked
for a while, doubling per further failure (mes.auth.throttle).
"""

import hashlib
import hmac
import re
import secrets
import threading

from config.security import LoginThrottle as Settings
from mes.auth.throttle import LoginThrottle

PIN = re.compile(r"\d{4,12}")
ITERATIONS = 20_000
FREE_FAILURES = 5


class PinError(ValueError):
    pass


def hash_pin(pin: str) -> str:
    if not PIN.fullmatch(pin):
        raise PinError("a PIN is 4 to 12 digits")
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, ITERATIONS)
    return f"pbkdf2_sha256${ITERATIONS}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    try:
        scheme, rounds, salt, digest = stored.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        got = hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt), int(rounds))
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


class PinLockout:
    """Wrong PINs per badge (thread-safe: several scan writer lanes may check PINs)."""

    def __init__(self) -> None:
        settings = Settings(free_failures_per_user=FREE_FAILURES, base_delay_s=30.0)
        self._throttle = LoginThrottle(settings)
        self._lock = threading.Lock()

    def locked_for(self, badge: str) -> float:
        with self._lock:
            return self._throttle.retry_after(badge, "")

    def failed(self, badge: str) -> None:
        with self._lock:
            self._throttle.failed(badge, "")

    def succeeded(self, badge: str) -> None:
        with self._lock:
            self._throttle.succeeded(badge)


class PinRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


#: Wrong PINs per badge in this process.
LOCKOUT = PinLockout()


def check_operator_pin(badge: str, pin_hash: str | None, pin: str | None) -> None:
    """PinRefused unless the operator has no PIN or `pin` is theirs (and not locked out)."""
    if pin_hash is None:
        return
    if pin is None:
        raise PinRefused("PIN_REQUIRED", f"Badge {badge} needs its PIN: scan EMP:{badge}:<PIN>")
    wait = LOCKOUT.locked_for(badge)
    if wait > 0:
        raise PinRefused("PIN_LOCKED", f"Too many wrong PINs for {badge}: retry in {wait:.0f} s")
    if not verify_pin(pin, pin_hash):
        LOCKOUT.failed(badge)
        raise PinRefused("WRONG_PIN", f"Wrong PIN for badge {badge}")
    LOCKOUT.succeeded(badge)
