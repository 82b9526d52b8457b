"""Issue 18 item 1: station tokens act only on their own workstation's alarms; shelving is a
supervisor action, capped per priority."""

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from config.plant import PlantConfig
from mes.alarms.authority import AlarmRefused, check_scope, check_shelve_minutes
from mes.auth.roles import Principal, Role
from tests.alarms.test_alarm_api import raise_in_mes
from tests.mes.scan_harness import PLANT, add_user, admin_token, bearer, enrol, running_app
from tests.services.mosquitto import Mosquitto

CRITICAL_WS20 = "oven-01.temperature.hh"
HIGH_WS10 = "oven-01.temperature.h"
NO_STATION = "oven-01.temperature.l"


def plant(db_url: str, broker_url: str) -> PlantConfig:
    raw: dict[str, Any] = json.loads(json.dumps(PLANT))
    raw["database"] = {"url": db_url}
    raw["broker"] = {"url": broker_url}
    raw["devices"] = [
        {
            "name": "oven-01",
            "path": "stamping/line1/c1",
            "driver": "opcua",
            "endpoint": "opc.tcp://127.0.0.1:4840",
            "tags": [{"name": "temperature", "node_id": "ns=2;s=T"}],
        }
    ]
    limit = {"device": "oven-01", "tag": "temperature", "kind": "limit"}
    raw["alarms"] = [
        {**limit, "level": "HH", "limit": 200, "priority": "critical", "workstation": "ws-20"},
        {**limit, "level": "H", "limit": 190, "priority": "high", "workstation": "ws-10"},
        {**limit, "level": "L", "limit": 20, "priority": "medium"},
    ]
    return PlantConfig.model_validate(raw)


@pytest.fixture
def mosquitto(mosquitto_factory: Callable[..., Mosquitto]) -> Mosquitto:
    return mosquitto_factory().start()


@pytest.fixture
def floor(mosquitto: Mosquitto, tmp_path: Path) -> Iterator[tuple[TestClient, Engine]]:
    with running_app(plant(f"sqlite:///{tmp_path}/mes.db", mosquitto.url)) as (client, engine):
        runtime = client.app.state.services.alarms  # type: ignore[attr-defined]
        for alarm, prio in (
            (CRITICAL_WS20, "critical"),
            (HIGH_WS10, "high"),
            (NO_STATION, "medium"),
        ):
            raise_in_mes(runtime, engine, alarm, prio)
        yield client, engine


def post(client: TestClient, token: str, alarm: str, action: str, **body: Any) -> Any:
    return client.post(f"/api/v1/alarms/{alarm}/{action}", json=body, headers=bearer(token))


def test_station_token_acknowledges_only_its_own_workstations_alarms(
    floor: tuple[TestClient, Engine],
) -> None:
    client, _ = floor
    ws10 = enrol(client, admin_token(client), "ws-10")
    r = post(client, ws10, CRITICAL_WS20, "ack", comment="not mine")
    assert r.status_code == 403, r.text
    assert "ws-20" in r.json()["detail"]
    r = post(client, ws10, NO_STATION, "ack")
    assert r.status_code == 403
    assert "no workstation" in r.json()["detail"]
    r = post(client, ws10, HIGH_WS10, "ack", comment="seen")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "active_acked"
    assert post(client, ws10, CRITICAL_WS20, "unshelve").status_code == 403


def test_shelving_is_for_supervisors_and_capped_by_priority(
    floor: tuple[TestClient, Engine],
) -> None:
    client, engine = floor
    ws20 = enrol(client, admin_token(client), "ws-20")
    r = post(client, ws20, CRITICAL_WS20, "shelve", minutes=60 * 24, reason="annoying")
    assert r.status_code == 403, r.text
    add_user(engine, "boss", "supervisor", "boss-password-1")
    add_user(engine, "qa", "quality", "qa-password-1")
    for user, password in (("boss", "boss-password-1"), ("qa", "qa-password-1")):
        r = client.post("/api/v1/auth/login", json={"username": user, "password": password})
        assert r.status_code == 200
        if user == "qa":
            qa = r.json()["access_token"]
        else:
            sup = r.json()["access_token"]
    assert post(client, qa, CRITICAL_WS20, "shelve", minutes=10, reason="r").status_code == 403
    r = post(client, sup, CRITICAL_WS20, "shelve", minutes=31, reason="probe swap")
    assert r.status_code == 422
    assert "at most 30 minutes" in r.json()["detail"]
    r = post(client, sup, CRITICAL_WS20, "shelve", minutes=30, reason="probe swap")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "shelved"
    r = post(client, sup, NO_STATION, "shelve", minutes=480, reason="known")
    assert r.status_code == 200, r.text


def test_scope_and_shelve_rules_directly() -> None:
    station = Principal("station", "ws-10", Role.STATION, station="ws-10")
    sup = Principal("user", "boss", Role.SUPERVISOR)
    check_scope(station, "a", "ws-10")
    check_scope(sup, "a", None)
    for ws in ("ws-20", None):
        with pytest.raises(AlarmRefused):
            check_scope(station, "a", ws)
    limits = {"critical": 30.0}
    check_shelve_minutes("a", "critical", 30, limits)
    check_shelve_minutes("a", "low", 1440, limits)
    with pytest.raises(AlarmRefused, match="at most 30"):
        check_shelve_minutes("a", "critical", 30.5, limits)
