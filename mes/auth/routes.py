"""Login, users, operators' badges, station enrolment and service tokens."""

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from mes.api.deps import PrincipalDep, ServicesDep, SessionDep, require
from mes.api.problems import PROBLEM_CONTENT, Problem, refusals
from mes.api.types import OneOf, Text
from mes.auth import service
from mes.auth.gate import LoginBusy
from mes.auth.models import ApiToken, Operator, User
from mes.auth.roles import SERVICE_ROLES, USER_ROLES, Permission, Principal, matrix_markdown
from mes.core import audit
from mes.reporting.models import StationLogin

if TYPE_CHECKING:  # built by mes.wiring, above every feature
    from mes.wiring import MesServices

router = APIRouter(prefix="/api/v1", tags=["auth"])

NAME = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_PROBLEM = PROBLEM_CONTENT
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no or bad token", "content": _PROBLEM},
    403: {"description": "role not allowed", "content": _PROBLEM},
    409: {"description": "conflict (exists already)", "content": _PROBLEM},
}
_404: dict[int | str, dict[str, Any]] = {404: {"description": "not found", "content": _PROBLEM}}
_422: dict[int | str, dict[str, Any]] = {
    422: {"description": "refused (policy, unknown id)", "content": _PROBLEM}
}


class LoginIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"username": "sup1", "password": "correct horse"}]},
    )
    username: Text = NAME
    password: Text = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str = Field(description="send as `Authorization: Bearer <token>`; shown once")
    token_type: str = "bearer"
    role: str
    subject: str
    expires_at: datetime | None = None
    token_id: str | None = Field(default=None, description="to list, rotate or revoke it")


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Text = NAME
    role: Annotated[str, OneOf(r.value for r in USER_ROLES)] = Field(examples=["supervisor"])
    password: Text = Field(min_length=8, max_length=256)


class UserOut(BaseModel):
    username: str
    role: str
    active: bool


class OperatorIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"badge": "E1042", "name": "Ana Silva"}]}
    )
    badge: Text = NAME
    name: Text = Field(min_length=1, max_length=120)


class OperatorOut(BaseModel):
    badge: str
    name: str
    active: bool
    has_pin: bool = False


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Text = Field(min_length=1, max_length=256)


class PinIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"pin": "4711"}]})
    pin: str = Field(pattern=r"^\d{4,12}$", description="4 to 12 digits")


class TokenInfo(BaseModel):
    token_id: str
    kind: str
    subject: str
    role: str
    created_at: datetime
    expires_at: datetime | None
    revoked: bool
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: ApiToken) -> "TokenInfo":
        return cls(
            token_id=service.token_id(row),
            kind=row.kind,
            subject=row.subject,
            role=row.role,
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked=row.revoked,
            revoked_at=row.revoked_at,
        )


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grace_minutes: float = Field(
        default=0, ge=0, le=7 * 24 * 60, description="the old token keeps working this long"
    )


class ServiceTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text = NAME
    role: Annotated[str, OneOf(r.value for r in SERVICE_ROLES)] = Field(examples=["erp"])


class WhoAmI(BaseModel):
    kind: str
    name: str
    role: str
    station: str | None
    permissions: list[str]


@router.post(
    "/auth/login",
    response_model=TokenOut,
    responses={
        401: ERRORS[401],
        429: {"description": "too many failed logins: wait Retry-After", "content": _PROBLEM},
    },
    summary="Log in a supervisor, quality, owner or admin user",
)
async def login(body: LoginIn, request: Request, services: ServicesDep) -> TokenOut:
    """Failed logins are audited and back off per user name and per address (429)."""
    address = request.client.host if request.client else "unknown"
    gate = services.logins
    # the throttle reads and writes the database: off the event loop
    wait = await run_in_threadpool(gate.throttle.retry_after, body.username, address)
    if wait > 0:
        raise _throttled(wait, "too many failed logins for this user or address")
    try:
        answer = await gate.run(lambda: _check_login(services, body, address))
    except LoginBusy as exc:
        raise _throttled(1, str(exc)) from None
    if answer is None:
        await run_in_threadpool(gate.throttle.failed, body.username, address)
        raise Problem(401, "UNAUTHENTICATED", "unknown user or wrong password")
    await run_in_threadpool(gate.throttle.succeeded, body.username)
    return answer


def _throttled(wait_s: float, detail: str) -> Problem:
    seconds = max(1, math.ceil(wait_s))
    return Problem(
        429,
        "TOO_MANY_REQUESTS",
        f"{detail}; retry in {seconds} s",
        retry_after_s=seconds,
        headers={"Retry-After": str(seconds)},
    )


def _check_login(services: "MesServices", body: LoginIn, address: str) -> TokenOut | None:
    """On a login thread: check the password, audit the outcome (never the password)."""
    with Session(services.engine) as session:
        try:
            hours = services.cfg.mes.security.session_hours
            token, row = service.login(
                session, services.passwords, body.username, body.password, hours
            )
        except service.AuthError:
            audit.record(
                session,
                audit.actor("address", address or "unknown"),
                "auth.login_failed",
                f"user:{body.username}",
                {"address": address},
            )
            session.commit()
            return None
        audit.record(
            session,
            f"user:{row.subject}",
            "auth.login",
            f"user:{row.subject}",
            {"address": address},
        )
        session.commit()
        return TokenOut(
            access_token=token,
            role=row.role,
            subject=row.subject,
            expires_at=row.expires_at,
            token_id=service.token_id(row),
        )


_bearer = HTTPBearer(auto_error=False)


@contextmanager
def _refused(status: int, code: str) -> Iterator[None]:
    """An AdminError from the service becomes a problem answer."""
    try:
        yield
    except service.AdminError as exc:
        raise Problem(status, code, str(exc)) from exc


def _changed(session: Session, services: "MesServices", who: Principal, *entry: Any) -> None:
    """Audit, commit, and drop cached tokens: a revoked one must stop working now."""
    audit.record(session, who.label, *entry)
    session.commit()
    services.auth.forget_all()


@router.post("/auth/logout", status_code=204, responses={401: ERRORS[401]}, summary="Revoke")
def logout(
    who: PrincipalDep,
    services: ServicesDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    assert credentials is not None  # checked by PrincipalDep
    service.revoke(session, credentials.credentials)
    audit.record(session, who.label, "auth.logout", who.label)
    session.commit()
    services.auth.forget(credentials.credentials)


@router.get("/auth/me", response_model=WhoAmI, responses={401: ERRORS[401]}, summary="Who am I")
def whoami(who: PrincipalDep) -> WhoAmI:
    return WhoAmI(
        kind=who.kind,
        name=who.name,
        role=who.role.value,
        station=who.station,
        permissions=sorted(p.value for p in Permission if who.can(p)),
    )


@router.get("/auth/roles", summary="The role matrix (Markdown)", responses={401: ERRORS[401]})
def roles(who: PrincipalDep) -> dict[str, str]:
    return {"markdown": matrix_markdown()}


Admin = Annotated[Principal, require(Permission.MANAGE_USERS)]
TokenAdmin = Annotated[Principal, require(Permission.MANAGE_TOKENS)]


@router.post(
    "/users",
    response_model=UserOut,
    status_code=201,
    responses={**ERRORS, **refusals("INVALID_USER")},
)
def add_user(body: UserIn, who: Admin, services: ServicesDep, session: SessionDep) -> UserOut:
    try:
        user = service.add_user(
            session, services.passwords, body.username, body.role, body.password
        )
    except service.AdminError as exc:
        raise Problem(409 if "exists" in str(exc) else 422, "INVALID_USER", str(exc)) from exc
    audit.record(session, who.label, "user.add", f"user:{user.username}", {"role": user.role})
    session.commit()
    return UserOut(username=user.username, role=user.role, active=user.active)


@router.get("/users", response_model=list[UserOut], responses=ERRORS)
def list_users(who: Admin, session: SessionDep) -> list[UserOut]:
    return [
        UserOut(username=u.username, role=u.role, active=u.active)
        for u in session.exec(select(User).order_by(User.username))
    ]


@router.delete(
    "/users/{username}",
    status_code=204,
    responses={**ERRORS, **_404},
    summary="Deactivate a user; their sessions end at once",
)
def deactivate_user(username: Text, who: Admin, services: ServicesDep, session: SessionDep) -> None:
    with _refused(404, "NOT_FOUND"):
        revoked = service.deactivate_user(session, username)
    _changed(session, services, who, "user.deactivate", f"user:{username}", {"sessions": revoked})


@router.post(
    "/users/{username}/password",
    status_code=204,
    responses={**ERRORS, **_404, **_422},
    summary="Set a new password (admin); the user's sessions end",
)
def reset_password(
    username: Text, body: PasswordIn, who: Admin, services: ServicesDep, session: SessionDep
) -> None:
    if session.get(User, username) is None:
        raise Problem(404, "NOT_FOUND", f"no user {username!r}")
    with _refused(422, "WEAK_PASSWORD"):
        revoked = service.reset_password(session, services.passwords, username, body.password)
    _changed(session, services, who, "user.password", f"user:{username}", {"sessions": revoked})


OperatorAdmin = Annotated[Principal, require(Permission.MANAGE_OPERATORS)]


@router.post("/operators", response_model=OperatorOut, status_code=201, responses=ERRORS)
def add_operator(body: OperatorIn, who: OperatorAdmin, session: SessionDep) -> OperatorOut:
    with _refused(409, "BADGE_IN_USE"):
        op = service.add_operator(session, body.badge, body.name)
    audit.record(session, who.label, "operator.add", f"operator:{op.badge}", {"name": op.name})
    session.commit()
    return OperatorOut(badge=op.badge, name=op.name, active=op.active)


@router.get("/operators", response_model=list[OperatorOut], responses=ERRORS)
def list_operators(
    who: Annotated[Principal, require(Permission.LIST_OPERATORS)], session: SessionDep
) -> list[OperatorOut]:
    """Badges log operators in: only supervisors and admins see the list."""
    return [
        OperatorOut(badge=o.badge, name=o.name, active=o.active, has_pin=o.pin_hash is not None)
        for o in session.exec(select(Operator).order_by(Operator.badge))
    ]


@router.put(
    "/operators/{badge}/pin",
    status_code=204,
    responses={**ERRORS, **_404},
    summary="Set an operator's PIN: badge logins then need it",
)
def set_pin(badge: Text, body: PinIn, who: OperatorAdmin, session: SessionDep) -> None:
    _pin(session, badge, body.pin)
    audit.record(session, who.label, "operator.pin", f"operator:{badge}", {"pin": "set"})
    session.commit()


@router.delete(
    "/operators/{badge}/pin",
    status_code=204,
    responses={**ERRORS, **_404},
    summary="Remove an operator's PIN",
)
def remove_pin(badge: Text, who: OperatorAdmin, session: SessionDep) -> None:
    _pin(session, badge, None)
    audit.record(session, who.label, "operator.pin", f"operator:{badge}", {"pin": "removed"})
    session.commit()


def _pin(session: Session, badge: str, pin: str | None) -> None:
    with _refused(404, "NOT_FOUND"):
        service.set_operator_pin(session, badge, pin)


@router.delete(
    "/operators/{badge}", status_code=204, responses={**ERRORS, 404: {"content": _PROBLEM}}
)
def deactivate_operator(badge: Text, who: OperatorAdmin, session: SessionDep) -> None:
    op = session.get(Operator, badge)
    if op is None:
        raise Problem(404, "NOT_FOUND", f"no operator with badge {badge!r}")
    op.active = False
    session.add(op)
    session.exec(delete(StationLogin).where(col(StationLogin.badge) == badge))
    audit.record(session, who.label, "operator.deactivate", f"operator:{badge}")
    session.commit()


@router.post(
    "/stations/{station}/enrol",
    response_model=TokenOut,
    status_code=201,
    responses={**ERRORS, 404: {"content": _PROBLEM}},
    summary="Enrol a workstation: a new station token (earlier ones stop working)",
)
def enrol(
    station: Text,
    who: Annotated[Principal, require(Permission.MANAGE_STATIONS)],
    services: ServicesDep,
    session: SessionDep,
) -> TokenOut:
    if station not in services.stations:
        raise Problem(404, "UNKNOWN_STATION", f"no workstation {station!r} in the plant file")
    days = services.cfg.mes.security.station_token_days
    token = service.enrol_station(session, station, days)
    audit.record(session, who.label, "station.enrol", f"station:{station}", station=station)
    session.commit()
    services.auth.forget_all()
    return _issued(session, token)


@router.post(
    "/tokens",
    response_model=TokenOut,
    status_code=201,
    responses=ERRORS,
    summary="Create a service token for the ERP or the edge",
)
def create_token(
    body: ServiceTokenIn, who: TokenAdmin, services: ServicesDep, session: SessionDep
) -> TokenOut:
    days = services.cfg.mes.security.service_token_days
    with _refused(422, "INVALID_ROLE"):
        token = service.create_service_token(session, body.name, body.role, days)
    audit.record(session, who.label, "token.create", f"service:{body.name}", {"role": body.role})
    session.commit()
    return _issued(session, token)


def _issued(session: Session, token: str) -> TokenOut:
    row = session.get(ApiToken, service.hash_token(token))
    assert row is not None
    return TokenOut(
        access_token=token,
        role=row.role,
        subject=row.subject,
        expires_at=row.expires_at,
        token_id=service.token_id(row),
    )


@router.get(
    "/tokens",
    response_model=list[TokenInfo],
    responses=ERRORS,
    summary="Tokens (by default the usable ones), without the secrets",
)
def list_tokens(
    who: TokenAdmin,
    session: SessionDep,
    kind: Literal["user", "station", "service"] | None = None,
    include_inactive: bool = False,
) -> list[TokenInfo]:
    return [TokenInfo.of(r) for r in service.list_tokens(session, kind, not include_inactive)]


@router.delete(
    "/tokens/{token_id}",
    status_code=204,
    responses={**ERRORS, **_404},
    summary="Revoke a token (it stops working at once on this replica)",
)
def revoke_token(
    token_id: Text, who: TokenAdmin, services: ServicesDep, session: SessionDep
) -> None:
    with _refused(404, "NOT_FOUND"):
        row = service.revoke_token(session, token_id)
    _changed(session, services, who, "token.revoke", f"{row.kind}:{row.subject}", {"id": token_id})


@router.post(
    "/tokens/{token_id}/rotate",
    response_model=TokenOut,
    status_code=201,
    responses={**ERRORS, **_404, **_422},
    summary="A new token for the same station or service; the old one ends (after a grace)",
)
def rotate_token(
    token_id: Text, body: RotateIn, who: TokenAdmin, services: ServicesDep, session: SessionDep
) -> TokenOut:
    with _refused(404, "NOT_FOUND"):
        old = service.find_token(session, token_id)
    sec = services.cfg.mes.security
    days = sec.station_token_days if old.kind == "station" else sec.service_token_days
    with _refused(422, "NOT_ROTATABLE"):
        token, row = service.rotate_token(session, token_id, days, body.grace_minutes)
    detail = {"id": token_id, "grace_minutes": body.grace_minutes}
    _changed(session, services, who, "token.rotate", f"{row.kind}:{row.subject}", detail)
    return _issued(session, token)
