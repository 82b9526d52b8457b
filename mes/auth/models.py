"""Tables for people, operators' badges and bearer tokens."""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from mes.core.clock import utcnow


class User(SQLModel, table=True):
    """A supervisor, quality, owner or admin user who logs in with a password."""

    __tablename__ = "auth_user"

    username: str = Field(primary_key=True, max_length=64)
    role: str = Field(max_length=16)
    password_hash: str = Field(max_length=255)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class Operator(SQLModel, table=True):
    """A shop-floor operator, known by the badge they scan (`EMP:<badge>`)."""

    __tablename__ = "auth_operator"

    badge: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=120)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    #: argon2 hash of the operator's PIN; when set, badge logins must give it.
    pin_hash: str | None = Field(default=None, max_length=255)


class ApiToken(SQLModel, table=True):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "auth_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    #: "user" (login session), "station" (enrolled workstation) or "service" (ERP, edge).
    kind: str = Field(max_length=16)
    #: username, workstation id or service name
    subject: str = Field(max_length=64, index=True)
    role: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    revoked: bool = False
    revoked_at: datetime | None = None


class LoginFailure(SQLModel, table=True):
    """Recent failed logins of one user name or client address, shared by every MES replica
    (mes.auth.throttle_store); times are wall-clock UTC."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_last_at", "last_at"),)

    #: "user" or "address"
    kind: str = Field(primary_key=True, max_length=16)
    key: str = Field(primary_key=True, max_length=255)
    count: int
    last_at: datetime
    locked_until: datetime
