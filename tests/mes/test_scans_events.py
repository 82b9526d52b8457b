"""A scan's production event id is in its answer, the scan log and the confirmation, and the
events of an operation are listed: a supervisor can name the report to correct."""

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from mes.outbox.models import OutboxMessage
from mes.production.models import ProductionEvent
from tests.mes.orders_support import release
from tests.mes.scan_harness import (
    add_operators,
    add_user,
    admin_token,
    bearer,
    enrol,
    plant_config,
    running_app,
    scan,
)
from tests.services.mosquitto import Mosquitto


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mes.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def floor(url: str, mosquitto: Mosquitto) -> Iterator[tuple[Any, Any, str, str]]:
    with running_app(plant_config(url, mosquitto.url, debounce_s=0.0)) as (client, engine):
        admin = admin_token(client)
        add_operators(client, admin, "E1")
        token = enrol(client, admin, "ws-10")
        wo = release(engine, quantity=100)
        for code in ("EMP:E1", f"WO:{wo}/0010", "CMD:START"):
            assert scan(client, token, "ws-10", code).status_code == 200
        yield client, engine, token, wo


def confirmations(engine: Any) -> list[dict[str, Any]]:
    with Session(engine) as s:
        rows = s.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
    return [json.loads(r.payload) for r in rows if r.kind == "confirmation"]


def test_the_event_id_is_in_the_answer_the_log_and_the_confirmation(floor: Any) -> None:
    client, engine, token, _wo = floor
    body = scan(client, token, "ws-10", "QTY:5").json()
    event = body["production_event"]
    assert isinstance(event, int)
    with Session(engine) as s:
        ev = s.get(ProductionEvent, event)
        assert ev is not None
        assert (ev.kind, ev.good) == ("quantity.good", 5)
    log = client.get("/api/v1/stations/ws-10/scans", headers=bearer(token)).json()
    assert log[0]["production_event"] == event
    assert log[-1]["production_event"] is None  # the badge scan recorded no event
    assert [c["production_event"] for c in confirmations(engine) if c["good"] == 5] == [event]
    # a resend gets the same answer, event id included
    again = scan(client, token, "ws-10", "QTY:5", event_id=log[0]["event_id"]).json()
    assert again["production_event"] == event
    # a scan that records no event says none
    assert "production_event" not in scan(client, token, "ws-10", "RSN:TOOL").json()


def test_concurrent_scans_each_get_their_own_event(floor: Any) -> None:
    client, engine, token, _wo = floor
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: scan(client, token, "ws-10", "QTY:1"), range(24)))
    events = [a.json()["production_event"] for a in answers]
    assert len(set(events)) == 24
    with Session(engine) as s:
        rows = s.exec(select(ProductionEvent).where(col(ProductionEvent.id).in_(events))).all()
    assert {(r.kind, r.good) for r in rows} == {("quantity.good", 1)}
    log = client.get("/api/v1/stations/ws-10/scans", headers=bearer(token)).json()
    assert {e["production_event"] for e in log[:24]} == set(events)
    confirmed = {c["production_event"] for c in confirmations(engine) if c["good"] == 1}
    assert confirmed == set(events)


def test_events_of_an_operation_and_a_correction_by_that_id(floor: Any) -> None:
    client, engine, token, wo = floor
    event = scan(client, token, "ws-10", "QTY:7").json()["production_event"]
    add_user(engine, "sup1", "supervisor", "sup-password-1")
    login = client.post(
        "/api/v1/auth/login", json={"username": "sup1", "password": "sup-password-1"}
    )
    sup = bearer(login.json()["access_token"])
    url = f"/api/v1/work-orders/{wo}/operations/0010/events"
    assert client.get(url).status_code == 401
    events = client.get(url, headers=sup).json()
    assert [(e["kind"], e["good"]) for e in events][-1] == ("quantity.good", 7)
    assert events[-1]["id"] == event
    r = client.post(
        "/api/v1/corrections",
        json={"production_event": event, "reason": "counted twice"},
        headers=sup,
    )
    assert r.status_code == 201, r.text
    events = client.get(url, headers=sup).json()
    by_id = {e["id"]: e for e in events}
    assert by_id[event]["corrected_by"] == r.json()["correction_event"]
    assert by_id[r.json()["correction_event"]]["correction_of"] == event
    missing = client.get(f"/api/v1/work-orders/{wo}/operations/0990/events", headers=sup)
    assert (missing.status_code, missing.json()["code"]) == (404, "OPERATION_NOT_FOUND")
    missing = client.get("/api/v1/work-orders/WO-999999/operations/0010/events", headers=sup)
    assert (missing.status_code, missing.json()["code"]) == (404, "WORK_ORDER_NOT_FOUND")
