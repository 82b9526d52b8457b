"""Users, operators, station enrolment and bearer tokens.

Tokens are random (256 bits), shown once, and stored as SHA-256 only. `Authenticator` resolves a
bearer token to a `Principal` and keeps verified tokens for `cache_s` seconds so the scan path
does not read the database on every request; a revoked token stops working on this replica at
once and on other replicas within `cache_s`.
"""

import hashlib
import logging
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta

from pwdlib import PasswordHash
from sqlalchemy.engine import Engine
from sqlmodel import Session, select, update

from mes.auth.models import ApiToken, Operator, User
from mes.auth.roles import SERVICE_ROLES, USER_ROLES, Principal, Role
from mes.core.clock import aware

log = logging.getLogger(__name__)

TOKEN_PREFIX = "sf_"
SESSION_HOURS = 12
BOOTSTRAP_ADMIN = "admin"


class AuthError(Exception):
    """Bad credentials or an unusable token; the message is safe to show."""


class AdminError(ValueError):
    """An administration request that cannot be applied (duplicate, unknown, bad role)."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class Passwords:
    """argon2 via pwdlib."""

    def __init__(self) -> None:
        self._hasher = PasswordHash.recommended()
        self._dummy = self._hasher.hash(secrets.token_hex(8))

    def hash(self, password: str) -> str:
        if len(password) < 8:
            raise AdminError("password must have at least 8 characters")
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
    user = User(username=username, role=role, password_hash=passwords.hash(pw))
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


def login(session: Session, passwords: Passwords, username: str, pw: str) -> tuple[str, ApiToken]:
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
        expires_at=datetime.now(UTC) + timedelta(hours=SESSION_HOURS),
    )
    session.add(row)
    return token, row


def enrol_station(session: Session, station: str) -> str:
    """A new station token; earlier tokens of this station stop working."""
    session.exec(
        update(ApiToken)
        .where(ApiToken.kind == "station", ApiToken.subject == station)  # type: ignore[arg-type]
        .values(revoked=True)
    )
    token = _new_token()
    session.add(
        ApiToken(token_hash=hash_token(token), kind="station", subject=station, role="station")
    )
    return token


def create_service_token(session: Session, name: str, role: str) -> str:
    if role not in {r.value for r in SERVICE_ROLES}:
        raise AdminError(f"role {role!r} is not one of {', '.join(r.value for r in SERVICE_ROLES)}")
    token = _new_token()
    session.add(ApiToken(token_hash=hash_token(token), kind="service", subject=name, role=role))
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
        row.revoked = True
        session.add(row)


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
