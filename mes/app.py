"""The MES API application: `create_app(runtime)`.

The lifespan starts the runtime (database migrations, MQTT, scheduler), then the API's own
services (bootstrap admin, token cache, the single scan writer), and stops them in reverse.
Feature routers are included below, one line each.
"""

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from config.plant import PlantConfig
from mes.alarms import routes as alarm_routes
from mes.api import health
from mes.api.deps import MesServices
from mes.api.exposure import install_docs
from mes.api.limits import install_limits
from mes.api.problems import install_problem_handlers
from mes.auth import routes as auth_routes
from mes.auth.gate import LoginGate
from mes.auth.service import Authenticator, Passwords, bootstrap_admin
from mes.orders import routes as order_routes
from mes.production import routes as genealogy_routes
from mes.quality import routes as quality_routes
from mes.reporting import routes as reporting_routes
from mes.reporting.grammar import Prefixes
from mes.reporting.handler import StationHandler
from mes.reporting.writer import ScanWriter
from mes.ui import routes as ui_routes

API_DESCRIPTION = """
Shop-floor MES: scans and tablet buttons from workstations, users and roles.
Authenticate with `Authorization: Bearer <token>`: a login token (`POST /api/v1/auth/login`),
a station token (`POST /api/v1/stations/{id}/enrol`) or a service token (`POST /api/v1/tokens`).
Errors are RFC 9457 `application/problem+json`; scan refusals are
`{"accepted": false, "error": {"code", "message"}}` (CONTRACTS.md section 8).
"""


class Runtime(Protocol):
    """What the app needs from `mes.runtime.MesRuntime`."""

    cfg: PlantConfig

    @property
    def engine(self) -> Engine: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def build_services(cfg: PlantConfig, engine: Engine) -> MesServices:
    passwords = Passwords(cfg.mes.security.password_min_length)
    secret = cfg.mes.bootstrap_admin_password
    with Session(engine) as session:
        try:
            if bootstrap_admin(session, passwords, secret.get_secret_value() if secret else None):
                session.commit()
        except IntegrityError:  # another replica created it at the same moment
            session.rollback()
    try:
        prefixes = Prefixes(**cfg.mes.scan_prefixes.model_dump())
    except ValueError as exc:
        raise ValueError(f"mes.scan_prefixes: {exc}") from None
    handler = StationHandler(cfg.mes.debounce_s, cfg.mes.over_report_tolerance_percent)
    delay_ms = cfg.mes.scan_group_delay_ms
    writer = ScanWriter(
        engine,
        handler,
        lanes=cfg.mes.scan_writer_lanes,
        group_delay_s=None if delay_ms is None else delay_ms / 1000,
    )
    return MesServices(
        cfg=cfg,
        engine=engine,
        auth=Authenticator(engine),
        passwords=passwords,
        handler=handler,
        writer=writer,
        prefixes=prefixes,
        logins=LoginGate(cfg.mes.security.login),
    )


def create_app(runtime: Runtime) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            services = await asyncio.to_thread(build_services, runtime.cfg, runtime.engine)
            services.writer.after_commit = getattr(runtime, "notify_outbox", None)
            services.writer.start()
            app.state.services = services
            # What is loaded by now lives as long as the process. Frozen, the collector's full
            # passes skip it: unfrozen, each pass stalled the scan writer for ~100 ms (p99).
            gc.freeze()
            try:
                yield
            finally:
                app.state.services = None
                await asyncio.to_thread(services.writer.stop)
        finally:
            await runtime.stop()

    app = FastAPI(
        title="shopfloor MES",
        version="1.0.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by install_docs, as mes.security says
        redoc_url=None,
        openapi_url=None,
    )
    install_problem_handlers(app)
    install_limits(app, runtime.cfg.mes.security)
    install_docs(app)
    _add_routes(
        app,
        health.router,
        auth_routes.router,
        reporting_routes.router,
        ui_routes.router,
        quality_routes.router,
        order_routes.router,
        genealogy_routes.router,
    )
    app.include_router(alarm_routes.router)  # included: its lifespan runs the alarm services
    _install_openapi(app)
    return app


def _add_routes(app: FastAPI, *routers: APIRouter) -> None:
    """Put the routers' routes on the app itself. Since FastAPI 0.137 an included router stays
    a node of the app's route tree that is walked again on every request: included, routing
    took 17% of the API thread under the scan benchmark (py-spy)."""
    for router in routers:
        app.router.routes.extend(router.routes)


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail", "code"],
    "example": {
        "type": "https://shopfloor.dev/problems/forbidden",
        "title": "Forbidden",
        "status": 403,
        "detail": "this token belongs to station 'ws-10', not 'ws-20'",
        "code": "FORBIDDEN",
    },
}


def _install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
                PROBLEM_SCHEMA
            )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
