"""Shared pieces of the scan/auth/API tests: a plant config, a running app, helpers."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from config.plant import PlantConfig
from mes.auth import service
from mes.core.db import make_engine

PLANT: dict[str, Any] = {
    "version": 1,
    "plant": {
        "enterprise": "acme",
        "site": "plant1",
        "areas": [{"name": "stamping", "lines": [{"name": "line1", "cells": [{"name": "c1"}]}]}],
    },
    "mes": {
        "debounce_s": 2.0,
        "bootstrap_admin_password": "admin-secret-1",
        # the tests read the schema and metrics without a token (the default is authenticated)
        "security": {"openapi": "open", "metrics": "open"},
    },
    "workstations": [
        {"id": "ws-10", "path": "stamping/line1/c1", "work_centre": "STAMP"},
        {"id": "ws-20", "path": "stamping/line1/c1", "work_centre": "PRESS"},
    ],
    "products": [{"code": "BRKT-200"}, {"code": "STEEL-2MM", "unit": "kg"}],
    "routings": [
        {
            "id": "RT-BRKT-200",
            "product": "BRKT-200",
            "operations": [
                {"number": "0010", "name": "Stamp", "workstation": "ws-10", "cycle_time_s": 2},
                {"number": "0020", "name": "Bend", "work_centre": "PRESS", "cycle_time_s": 3},
            ],
        }
    ],
}


def plant_config(db_url: str, broker_url: str, **mes: Any) -> PlantConfig:
    raw = {
        **PLANT,
        "database": {"url": db_url},
        "broker": {"url": broker_url},
        "mes": {**PLANT["mes"], **mes},
    }
    return PlantConfig.model_validate(raw)


def shift_end_away() -> dict[str, Any]:
    """`mes.shifts` with its one shift end 12 h from now, for a test that keeps operators
    logged in for minutes: the default ends (06:00, 14:00, 22:00 UTC) log them out when a
    test runs across one."""
    at = datetime.now(UTC) + timedelta(hours=12)
    return {"ends": [at.strftime("%H:%M")], "timezone": "UTC"}


def make_runtime(cfg: PlantConfig) -> Any:
    from mes.runtime import MesRuntime

    return MesRuntime(cfg, replica=f"harness-{uuid.uuid4().hex[:8]}", connect_timeout_s=5)


@contextmanager
def running_app(cfg: PlantConfig) -> Iterator[tuple[TestClient, Engine]]:
    from mes.app import create_app

    runtime = make_runtime(cfg)
    app = create_app(runtime)
    with TestClient(app) as client:
        yield client, runtime.engine


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def admin_token(client: TestClient) -> str:
    r = client.post("/api/v1/auth/login", json={"username": "admin", "password": "admin-secret-1"})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def enrol(client: TestClient, admin: str, station: str) -> str:
    r = client.post(f"/api/v1/stations/{station}/enrol", headers=bearer(admin))
    assert r.status_code == 201, r.text
    return str(r.json()["access_token"])


def add_operators(client: TestClient, admin: str, *badges: str) -> None:
    for badge in badges:
        r = client.post(
            "/api/v1/operators", json={"badge": badge, "name": f"Op {badge}"}, headers=bearer(admin)
        )
        assert r.status_code == 201, r.text


def scan(
    client: TestClient, token: str, station: str, code: str, event_id: str | None = None, **kw: Any
) -> Any:
    body = {"station": station, "code": code, "event_id": event_id or str(uuid.uuid4()), **kw}
    return client.post("/api/v1/scans", json=body, headers=bearer(token))


def add_user(engine: Engine, username: str, role: str, password: str) -> None:
    with Session(engine) as session:
        service.add_user(session, service.Passwords(), username, role, password)
        session.commit()


def make_test_engine(url: str) -> Engine:
    return make_engine(url)


@contextmanager
def served(cfg: PlantConfig, **options: Any) -> Iterator[tuple[str, Engine]]:
    """The app on a real uvicorn server in this process (`options`: more uvicorn.Config
    options, e.g. mes.api.server.server_options); yields (base URL, engine)."""
    import socket
    import threading

    import uvicorn

    from mes.app import create_app
    from tests.services.ports import wait_for

    runtime = make_runtime(cfg)
    # bound here, port 0: no window in which another process can take a port picked as free
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), log_level="warning", **options))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started or not thread.is_alive(), 30, "uvicorn to start")
    assert server.started, "uvicorn did not start (see its log above)"
    try:
        yield f"http://127.0.0.1:{port}", runtime.engine
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def multi_station_plant(db_url: str, broker_url: str, stations: int, **mes: Any) -> PlantConfig:
    """`stations` workstations in work centre PRESS, all working operation 0010 of RT-MULTI."""
    raw = plant_config(db_url, broker_url, **mes).model_dump(mode="json")
    raw["mes"]["bootstrap_admin_password"] = PLANT["mes"]["bootstrap_admin_password"]
    raw["workstations"] = [
        {"id": f"ws-{i:02d}", "path": "stamping/line1/c1", "work_centre": "PRESS"}
        for i in range(1, stations + 1)
    ]
    raw["routings"] = [
        {
            "id": "RT-MULTI",
            "product": "BRKT-200",
            "operations": [
                {"number": "0010", "name": "Press", "work_centre": "PRESS", "cycle_time_s": 1}
            ],
        }
    ]
    return PlantConfig.model_validate(raw)
