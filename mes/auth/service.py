"""Users, operators, station enrolment and bearer tokens.

Tokens are random (256 bits), shown once, and stored as SHA-256 only. `Authenticator` resolves a
bearer token to a `Principal` and keeps verified tokens for `cache_s` seconds so the scan path
does not read the database on every request; a revoked token stops working on this replica at
once and on other replicas within `cache_s`.
"""

import hashlib
import logging
import re
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from pwdlib import PasswordHash
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select, update

from mes.auth.models import ApiToken, Operator, User
from mes.auth.pins import PinError, hash_pin
from mes.auth.policy import WeakPassword, check_password
from mes.auth.roles import SERVICE_ROLES, USER_ROLES, Principal, Role
from mes.core.clock import aware

log = logging.getLogger(__name__)

TOKEN_PREFIX = "sf_"
SESSION_HOURS = 12
BOOTSTRAP_ADMIN = "admin"
TOKEN_ID_CHARS = 16


class AuthError(Exception):
    """Bad credentials or an unusable token; the message is safe to show."""


class AdminError(ValueError):
    """An administration request that cannot be applied (duplicate, unknown, bad role)."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class Passwords:
    """argon2 via pwdlib; new passwords must pass the policy (mes.auth.policy)."""

    def __init__(self, min_length: int = 10) -> None:
        self._hasher = PasswordHash.recommended()
        self._dummy = self._hasher.hash(secrets.token_hex(8))
        self.min_length = min_length

    def hash(self, password: str, username: str | None = None) -> str:
        try:
            check_password(password, self.min_length, username)
        except WeakPassword as exc:
            raise AdminError(str(exc)) from None
        return self._hasher.hash(password)

    def verify(self, password: str, hashed: str | None) -> bool:
        if hashed is None:  # same work for unknown users: no user enumeration by timing
            self._hasher.verify(password, self._dummy)
            return False
        return self._hasher.verify(password, hashed)


def add_user(session: Session, passwords: Passwords, username: str, role: str, pw: str) -> User:
    if role not in {r.value for r in USER_ROLES}:
        raise AdminError(f"role {role!r} is not one of {', '.join(r.value for r in USER_ROLES)}")
    if session.get(User, username) is not None:
        raise AdminError(f"user {username!r} exists already")
    user = User(username=username, role=role, password_hash=passwords.hash(pw, username))
    session.add(user)
    return user


def bootstrap_admin(session: Session, passwords: Passwords, password: str | None) -> bool:
    """Create user `admin` from `mes.bootstrap_admin_password` when no admin exists yet."""
    if not password:
        return False
    has_admin = session.exec(select(User).where(User.role == Role.ADMIN.value)).first()
    if has_admin is not None:
        return False
    add_user(session, passwords, BOOTSTRAP_ADMIN, Role.ADMIN.value, password)
    log.info("bootstrap admin user %r created", BOOTSTRAP_ADMIN)
    return True


def login(
    session: Session, passwords: Passwords, username: str, pw: str, hours: float = SESSION_HOURS
) -> tuple[str, ApiToken]:
    user = session.get(User, username)
    ok = passwords.verify(pw, user.password_hash if user else None)
    if user is None or not ok or not user.active:
        raise AuthError("unknown user or wrong password")
    token = _new_token()
    row = ApiToken(
        token_hash=hash_token(token),
        kind="user",
        subject=user.username,
        role=user.role,
        expires_at=datetime.now(UTC) + timedelta(hours=hours),
    )
    session.add(row)
    return token, row


def _expiry(days: float | None) -> datetime | None:
    return None if days is None else datetime.now(UTC) + timedelta(days=days)


def enrol_station(session: Session, station: str, days: float | None = None) -> str:
    """A new station token (valid `days`, None: no expiry); earlier ones stop working."""
    _revoke_where(session, ApiToken.kind == "station", ApiToken.subject == station)
    token = _new_token()
    session.add(
        ApiToken(
            token_hash=hash_token(token),
            kind="station",
            subject=station,
            role="station",
            expires_at=_expiry(days),
        )
    )
    return token


def create_service_token(session: Session, name: str, role: str, days: float | None = None) -> str:
    if role not in {r.value for r in SERVICE_ROLES}:
        raise AdminError(f"role {role!r} is not one of {', '.join(r.value for r in SERVICE_ROLES)}")
    token = _new_token()
    session.add(
        ApiToken(
            token_hash=hash_token(token),
            kind="service",
            subject=name,
            role=role,
            expires_at=_expiry(days),
        )
    )
    return token


def add_operator(session: Session, badge: str, name: str) -> Operator:
    existing = session.get(Operator, badge)
    if existing is not None and existing.active:
        raise AdminError(f"badge {badge!r} belongs to {existing.name!r} already")
    if existing is not None:
        existing.name, existing.active = name, True
        session.add(existing)
        return existing
    op = Operator(badge=badge, name=name)
    session.add(op)
    return op


def revoke(session: Session, token: str) -> None:
    row = session.get(ApiToken, hash_token(token))
    if row is not None:
        row.revoked, row.revoked_at = True, datetime.now(UTC)
        session.add(row)


def _revoke_where(session: Session, *where: Any) -> int:
    stmt = update(ApiToken).where(*where, col(ApiToken.revoked).is_(False))
    done = session.exec(stmt.values(revoked=True, revoked_at=datetime.now(UTC)))  # type: ignore[call-overload]
    return int(done.rowcount)


def token_id(row: ApiToken) -> str:
    """A token's public id: the start of its hash (the token itself is never stored)."""
    return row.token_hash[:TOKEN_ID_CHARS]


def find_token(session: Session, tid: str) -> ApiToken:
    if not re.fullmatch(rf"[0-9a-f]{{{TOKEN_ID_CHARS}}}", tid):
        raise AdminError(f"token id {tid!r} is not {TOKEN_ID_CHARS} hex digits")
    rows = session.exec(select(ApiToken).where(col(ApiToken.token_hash).startswith(tid))).all()
    if len(rows) != 1:
        raise AdminError(f"no token with id {tid!r}")
    return rows[0]


def list_tokens(session: Session, kind: str | None = None, active: bool = True) -> list[ApiToken]:
    q = select(ApiToken)
    if kind:
        q = q.where(ApiToken.kind == kind)
    rows = session.exec(q.order_by(col(ApiToken.created_at))).all()
    if active:
        now = datetime.now(UTC)
        rows = [r for r in rows if not r.revoked and not _expired(r, now)]
    return list(rows)


def _expired(row: ApiToken, now: datetime) -> bool:
    expires = aware(row.expires_at)
    return expires is not None and expires <= now


def revoke_token(session: Session, tid: str) -> ApiToken:
    row = find_token(session, tid)
    row.revoked, row.revoked_at = True, datetime.now(UTC)
    session.add(row)
    return row


def rotate_token(
    session: Session, tid: str, days: float | None, grace_minutes: float = 0
) -> tuple[str, ApiToken]:
    """A new token for the same service or station; the old one ends now or after the grace."""
    old = find_token(session, tid)
    if old.kind == "user" or old.revoked:
        raise AdminError(f"token {tid} is a login session or revoked: it cannot be rotated")
    if grace_minutes > 0:
        end = datetime.now(UTC) + timedelta(minutes=grace_minutes)
        old_end = aware(old.expires_at)
        old.expires_at = end if old_end is None else min(old_end, end)
    else:
        old.revoked, old.revoked_at = True, datetime.now(UTC)
    session.add(old)
    token = _new_token()
    row = ApiToken(
        token_hash=hash_token(token),
        kind=old.kind,
        subject=old.subject,
        role=old.role,
        expires_at=_expiry(days),
    )
    session.add(row)
    return token, row


def deactivate_user(session: Session, username: str) -> int:
    """Deactivate a user and revoke their sessions; the number of sessions revoked."""
    user = session.get(User, username)
    if user is None:
        raise AdminError(f"no user {username!r}")
    user.active = False
    session.add(user)
    return _revoke_where(session, ApiToken.kind == "user", ApiToken.subject == username)


def reset_password(session: Session, passwords: Passwords, username: str, pw: str) -> int:
    """Set a new password (admin) and revoke the user's sessions; the number revoked."""
    user = session.get(User, username)
    if user is None:
        raise AdminError(f"no user {username!r}")
    user.password_hash = passwords.hash(pw, username)
    user.active = True
    session.add(user)
    return _revoke_where(session, ApiToken.kind == "user", ApiToken.subject == username)


def set_operator_pin(session: Session, badge: str, pin: str | None) -> None:
    op = session.get(Operator, badge)
    if op is None:
        raise AdminError(f"no operator with badge {badge!r}")
    try:
        op.pin_hash = None if pin is None else hash_pin(pin)
    except PinError as exc:
        raise AdminError(str(exc)) from None
    session.add(op)


class Authenticator:
    """Bearer token -> Principal, with a short per-instance cache of verified tokens."""

    def __init__(self, engine: Engine, cache_s: float = 30.0) -> None:
        self._engine = engine
        self._cache_s = cache_s
        self._cache: dict[str, tuple[Principal, float, datetime | None]] = {}
        self._lock = threading.Lock()

    def cached(self, token: str) -> Principal | None:
        """The principal of a recently verified, unexpired token; None: ask `resolve`."""
        with self._lock:
            hit = self._cache.get(hash_token(token))
        if hit is None or hit[1] <= time.monotonic():
            return None
        if hit[2] is not None and hit[2] <= datetime.now(UTC):
            return None
        return hit[0]

    def resolve(self, token: str) -> Principal:
        hit = self.cached(token)
        if hit is not None:
            return hit
        digest = hash_token(token)
        now = time.monotonic()
        with Session(self._engine) as session:
            row = session.get(ApiToken, digest)
        if row is None or row.revoked:
            raise AuthError("unknown or revoked token")
        expires = aware(row.expires_at)
        if expires is not None and expires <= datetime.now(UTC):
            raise AuthError("token expired: log in again")
        principal = Principal(
            kind=row.kind,
            name=row.subject,
            role=Role(row.role),
            station=row.subject if row.kind == "station" else None,
        )
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (principal, now + self._cache_s, expires)
        return principal

    def forget(self, token: str) -> None:
        with self._lock:
            self._cache.pop(hash_token(token), None)

    def forget_all(self) -> None:
        with self._lock:
            self._cache.clear()
