"""Shared request dependencies: the app's services, the caller, and permission checks.

Routers of every feature use these aliases:

    from mes.api.deps import ServicesDep, SessionDep, require
    @router.post("/x", dependencies=[require(Permission.HOLD_RELEASE)])
    def x(who: Annotated[Principal, require(Permission.HOLD_RELEASE)], session: SessionDep): ...
"""

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from config.plant import PlantConfig
from mes.api.problems import Problem
from mes.auth.gate import LoginGate
from mes.auth.roles import Permission, Principal
from mes.auth.service import Authenticator, AuthError, Passwords
from mes.reporting.grammar import Prefixes
from mes.reporting.handler import StationHandler
from mes.reporting.writer import ScanWriter


@dataclass
class MesServices:
    """Everything the API needs at request time; one per app (app.state.services)."""

    cfg: PlantConfig
    engine: Engine
    auth: Authenticator
    passwords: Passwords
    handler: StationHandler
    writer: ScanWriter
    prefixes: Prefixes
    logins: LoginGate

    @cached_property
    def stations(self) -> frozenset[str]:
        return frozenset(w.id for w in self.cfg.workstations)


def services_of(request: Request) -> MesServices:
    services: MesServices | None = getattr(request.app.state, "services", None)
    if services is None:
        raise Problem(503, "STARTING", "the MES is starting or stopping; retry shortly")
    return services


async def get_services(request: Request) -> MesServices:
    return services_of(request)


ServicesDep = Annotated[MesServices, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    with Session(services.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False, description="login, station or service token")


async def _principal(
    services: MesServices, credentials: HTTPAuthorizationCredentials | None
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Problem(
            401,
            "UNAUTHENTICATED",
            "send Authorization: Bearer <token> (log in, or use a station or service token)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = credentials.credentials
    # Dependencies here are async on purpose: a sync one costs a thread hop per request. A
    # token already verified is answered from memory; only a cache miss reads the database.
    try:
        cached = services.auth.cached(token)
        if cached is not None:
            return cached
        return await asyncio.to_thread(services.auth.resolve, token)
    except AuthError as exc:
        raise Problem(
            401, "UNAUTHENTICATED", str(exc), headers={"WWW-Authenticate": "Bearer"}
        ) from exc


_Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def current_principal(services: ServicesDep, credentials: _Credentials) -> Principal:
    return await _principal(services, credentials)


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require(permission: Permission) -> Any:
    """A dependency that answers 403 unless the caller's role has `permission`."""

    # One dependency (plus the bearer scheme) rather than a chain: FastAPI resolves each
    # dependency anew on every request, and on the scan path the chain cost more than the
    # endpoint itself.
    async def check(request: Request, credentials: _Credentials) -> Principal:
        who = await _principal(services_of(request), credentials)
        if not who.can(permission):
            raise Problem(
                403,
                "FORBIDDEN",
                f"role {who.role.value!r} may not {permission.value} (see the role matrix)",
            )
        return who

    return Depends(check)


def station_for(who: Principal, station: str, services: MesServices) -> str:
    """Check that `who` may act for `station`, a configured workstation."""
    if station not in services.stations:
        raise Problem(404, "UNKNOWN_STATION", f"no workstation {station!r} in the plant file")
    if not who.may_act_for(station):
        if who.station is not None:
            detail = f"this token belongs to station {who.station!r}, not {station!r}"
        else:
            detail = f"role {who.role.value!r} may not report at stations"
        raise Problem(403, "FORBIDDEN", detail)
    return station
