"""Login, users, operators' badges, station enrolment and service tokens."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete
from sqlmodel import col, select

from mes.api.deps import PrincipalDep, ServicesDep, SessionDep, require
from mes.api.problems import PROBLEM_CONTENT, Problem, refusals
from mes.api.types import OneOf, Text
from mes.auth import service
from mes.auth.models import Operator, User
from mes.auth.roles import SERVICE_ROLES, USER_ROLES, Permission, Principal, matrix_markdown
from mes.core import audit
from mes.reporting.models import StationLogin

router = APIRouter(prefix="/api/v1", tags=["auth"])

NAME = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_PROBLEM = PROBLEM_CONTENT
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no or bad token", "content": _PROBLEM},
    403: {"description": "role not allowed", "content": _PROBLEM},
    409: {"description": "conflict (exists already)", "content": _PROBLEM},
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
    responses={401: ERRORS[401]},
    summary="Log in a supervisor, quality or admin user",
)
def login(body: LoginIn, services: ServicesDep, session: SessionDep) -> TokenOut:
    try:
        token, row = service.login(session, services.passwords, body.username, body.password)
    except service.AuthError as exc:
        raise Problem(401, "UNAUTHENTICATED", str(exc)) from exc
    audit.record(session, f"user:{row.subject}", "auth.login", f"user:{row.subject}")
    session.commit()
    return TokenOut(
        access_token=token, role=row.role, subject=row.subject, expires_at=row.expires_at
    )


_bearer = HTTPBearer(auto_error=False)


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


OperatorAdmin = Annotated[Principal, require(Permission.MANAGE_OPERATORS)]


@router.post("/operators", response_model=OperatorOut, status_code=201, responses=ERRORS)
def add_operator(body: OperatorIn, who: OperatorAdmin, session: SessionDep) -> OperatorOut:
    try:
        op = service.add_operator(session, body.badge, body.name)
    except service.AdminError as exc:
        raise Problem(409, "BADGE_IN_USE", str(exc)) from exc
    audit.record(session, who.label, "operator.add", f"operator:{op.badge}", {"name": op.name})
    session.commit()
    return OperatorOut(badge=op.badge, name=op.name, active=op.active)


@router.get("/operators", response_model=list[OperatorOut], responses=ERRORS)
def list_operators(
    who: Annotated[Principal, require(Permission.READ)], session: SessionDep
) -> list[OperatorOut]:
    return [
        OperatorOut(badge=o.badge, name=o.name, active=o.active)
        for o in session.exec(select(Operator).order_by(Operator.badge))
    ]


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
    token = service.enrol_station(session, station)
    audit.record(session, who.label, "station.enrol", f"station:{station}", station=station)
    session.commit()
    services.auth.forget_all()
    return TokenOut(access_token=token, role="station", subject=station)


@router.post(
    "/tokens",
    response_model=TokenOut,
    status_code=201,
    responses=ERRORS,
    summary="Create a service token for the ERP or the edge",
)
def create_token(
    body: ServiceTokenIn,
    who: Annotated[Principal, require(Permission.MANAGE_TOKENS)],
    session: SessionDep,
) -> TokenOut:
    try:
        token = service.create_service_token(session, body.name, body.role)
    except service.AdminError as exc:
        raise Problem(422, "INVALID_ROLE", str(exc)) from exc
    audit.record(session, who.label, "token.create", f"service:{body.name}", {"role": body.role})
    session.commit()
    return TokenOut(access_token=token, role=body.role, subject=body.name)
