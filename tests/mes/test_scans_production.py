"""A work order driven through scans alone, on SQLite and PostgreSQL, with every refusal."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mes.outbox.models import OutboxMessage
from mes.production import work_orders
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

GTIN = "09506000134352"


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mes.db'}"
    return str(request.getfixturevalue("postgres_url"))


class Floor:
    def __init__(self, client: TestClient, engine: Engine) -> None:
        self.client, self.engine = client, engine
        self.admin = admin_token(client)
        add_operators(client, self.admin, "E1", "E2")
        self.tokens = {ws: enrol(client, self.admin, ws) for ws in ("ws-10", "ws-20")}

    def scan(self, station: str, code: str, **kw: Any) -> Any:
        return scan(self.client, self.tokens[station], station, code, **kw)

    def ok(self, station: str, code: str) -> dict[str, Any]:
        r = self.scan(station, code)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def refused(self, station: str, code: str) -> dict[str, str]:
        r = self.scan(station, code)
        assert r.status_code == 422, r.text
        assert r.json()["accepted"] is False
        return dict(r.json()["error"])

    def confirmations(self) -> list[dict[str, Any]]:
        with Session(self.engine) as s:
            rows = s.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
        return [json.loads(r.payload) for r in rows if r.kind == "confirmation"]


@pytest.fixture
def floor(url: str, mosquitto: Mosquitto) -> Iterator[Floor]:
    with running_app(plant_config(url, mosquitto.url, debounce_s=0.0)) as (client, engine):
        yield Floor(client, engine)


def test_order_to_final_confirmation_through_scans(floor: Floor) -> None:
    wo = release(floor.engine, quantity=10)
    floor.ok("ws-10", "EMP:E1")
    body = floor.ok("ws-10", f"WO:{wo}/0010")
    assert body["station_state"]["work_order"] == wo
    assert body["station_state"]["operation"] == "0010"
    assert floor.ok("ws-10", "CMD:START")["message"] == f"Started {wo} / 0010"
    floor.ok("ws-10", "QTY:6")
    floor.ok("ws-10", "SCRAP:1:BURR")
    body = floor.ok("ws-10", "QTY:3")
    assert body["station_state"]["job"]["good"] == 9
    assert body["station_state"]["job"]["scrap"] == 1
    assert floor.refused("ws-10", "QTY:1")["code"] == "QUANTITY_ABOVE_ORDER"
    floor.ok("ws-10", "CMD:COMPLETE")
    # the second operation, at a work-centre station, by two operators
    floor.ok("ws-20", "EMP:E1")
    floor.ok("ws-20", "EMP:E2")
    floor.ok("ws-20", f"WO:{wo}")
    floor.ok("ws-20", "CMD:START")
    floor.ok("ws-20", "QTY:9")
    body = floor.ok("ws-20", "CMD:COMPLETE")
    assert body["station_state"]["job"]["work_order_status"] == "COMPLETED"
    confs = floor.confirmations()
    assert sum(c["good"] for c in confs if c["operation"] == "0010") == 9
    assert sum(c["scrap"] for c in confs) == 1
    assert {"BURR": 1} in [c["scrap_reasons"] for c in confs]
    assert confs[-1]["final"] is True
    assert confs[-1]["workstation"] == "ws-20"
    # a confirmation names every operator logged in at the station, first logged in first
    assert {tuple(c["operators"]) for c in confs if c["operation"] == "0010"} == {("E1",)}
    assert {tuple(c["operators"]) for c in confs if c["operation"] == "0020"} == {("E1", "E2")}
    with Session(floor.engine) as s:
        details = s.exec(
            select(ProductionEvent.detail_json).where(ProductionEvent.workstation == "ws-20")
        ).all()
    assert any(json.loads(d).get("operators") == ["E1", "E2"] for d in details)


def test_out_of_sequence_and_held_and_not_running(floor: Floor) -> None:
    wo = release(floor.engine, quantity=5)
    floor.ok("ws-20", "EMP:E2")
    floor.ok("ws-20", f"WO:{wo}/0020")
    err = floor.refused("ws-20", "CMD:START")
    assert err["code"] == "OUT_OF_SEQUENCE"
    floor.ok("ws-10", "EMP:E1")
    floor.ok("ws-10", f"WO:{wo}/0010")
    assert floor.refused("ws-10", "QTY:1")["code"] == "OPERATION_NOT_RUNNING"
    floor.ok("ws-10", "CMD:START")
    with Session(floor.engine) as s:
        work_orders.hold_work_order(s, wo, "H-17", reason="oven temperature excursion")
        s.commit()
    err = floor.refused("ws-10", "QTY:1")
    assert err["code"] == "WORK_ORDER_HELD"
    assert err["message"] == f"{wo} is held: oven temperature excursion (hold H-17)"
    with Session(floor.engine) as s:
        work_orders.release_work_order_hold(s, wo, "H-17")
        s.commit()
    floor.ok("ws-10", "QTY:1")
    assert floor.refused("ws-10", "CMD:PAUSE")["code"] == "REASON_REQUIRED"
    floor.ok("ws-10", "RSN:TOOL")
    body = floor.ok("ws-10", "CMD:PAUSE")
    assert body["station_state"]["job"]["pause_reason"] == "TOOL"
    floor.ok("ws-10", "CMD:RESUME")
    assert floor.refused("ws-10", "WO:WO-999999")["code"] == "WORK_ORDER_NOT_FOUND"
    assert floor.refused("ws-10", f"WO:{wo}/0020")["code"] == "WRONG_WORKSTATION"


def test_material_undo_and_supervisor_correction(floor: Floor) -> None:
    wo = release(floor.engine, quantity=20)
    floor.ok("ws-10", "EMP:E1")
    floor.ok("ws-10", f"WO:{wo}/0010")
    floor.ok("ws-10", "CMD:START")
    body = floor.ok("ws-10", f"]C101{GTIN}10L2311-07\x1d3012")
    assert body["action"] == "material.consume"
    floor.ok("ws-10", "QTY:5")
    body = floor.ok("ws-10", "CMD:UNDO")
    assert body["action"] == "operation.undo"
    assert body["station_state"]["job"]["good"] == 0
    floor.ok("ws-10", "QTY:4")
    with Session(floor.engine) as s:
        report = s.exec(
            select(ProductionEvent).where(
                ProductionEvent.kind == "quantity.good", ProductionEvent.good == 4
            )
        ).one()
    # the station (operators) may not correct; a supervisor may
    r = floor.client.post(
        "/api/v1/corrections",
        json={"production_event": report.id, "reason": "counted twice"},
        headers=bearer(floor.tokens["ws-10"]),
    )
    assert r.status_code == 403
    add_user(floor.engine, "sup1", "supervisor", "sup-password")
    login = floor.client.post(
        "/api/v1/auth/login", json={"username": "sup1", "password": "sup-password"}
    ).json()
    r = floor.client.post(
        "/api/v1/corrections",
        json={"production_event": report.id, "reason": "counted twice"},
        headers=bearer(login["access_token"]),
    )
    assert r.status_code == 201, r.text
    assert r.json()["good"] == -4
    again = floor.client.post(
        "/api/v1/corrections",
        json={"production_event": report.id, "reason": "again"},
        headers=bearer(login["access_token"]),
    )
    assert again.status_code == 422
    assert again.json()["code"] == "CORRECTION_NOT_POSSIBLE"
    confs = floor.confirmations()
    assert confs[-1]["correction_of"] is not None
    assert confs[-1]["good"] == -4


def test_tablet_buttons_share_the_scan_path(floor: Floor) -> None:
    wo = release(floor.engine, quantity=8)
    token = floor.tokens["ws-10"]

    def press(path: str, **body: Any) -> Any:
        return floor.client.post(f"/api/v1/stations/ws-10/{path}", json=body, headers=bearer(token))

    assert press("quantity", quantity=1).json()["error"]["code"] == "NO_OPERATOR"
    assert press("operators/login", badge="E1").json()["action"] == "operator.login"
    assert press("job", work_order=wo.lower(), operation="0010").status_code == 200
    assert press("start").json()["action"] == "operation.start"
    first = press("quantity", quantity=3, event_id="tablet-1")
    again = press("quantity", quantity=3, event_id="tablet-1")
    assert again.json() == first.json()
    assert press("scrap", quantity=1, reason="burr").status_code == 200
    assert press("pause", reason="tool").json()["action"] == "operation.pause"
    assert press("resume").status_code == 200
    mat = press("material", lot="L-77", count=2, product="STEEL-2MM")
    assert mat.json().get("action") == "material.consume", mat.text
    assert press("quantity", quantity=5).json()["error"]["code"] == "QUANTITY_ABOVE_ORDER"
    body = press("complete").json()
    assert body["station_state"]["job"]["good"] == 3
    assert body["station_state"]["job"]["status"] == "DONE"
    assert press("operators/logout").json()["station_state"]["operators"] == []
    log = floor.client.get("/api/v1/stations/ws-10/scans", headers=bearer(token)).json()
    assert log[-1]["code"] == "button:quantity:1"
    assert all(e["source"] == "button" for e in log)


def test_control_characters_are_kept_visibly_in_the_scan_log(floor: Floor) -> None:
    r = floor.scan("ws-10", "\x00QTY:1\x1d\r\n")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "NO_OPERATOR"
    r = floor.scan("ws-10", "\x00\x00")
    assert r.json()["error"]["code"] == "UNKNOWN_BARCODE"
    log = floor.client.get(
        "/api/v1/stations/ws-10/scans", headers=bearer(floor.tokens["ws-10"])
    ).json()
    assert [e["code"] for e in log] == ["\\x00\\x00", "\\x00QTY:1\x1d"]


def test_metrics_count_what_the_scan_writer_committed(floor: Floor) -> None:
    def counters() -> dict[str, float]:
        r = floor.client.get("/metrics")
        assert r.status_code == 200
        lines = [ln.split() for ln in r.text.splitlines() if not ln.startswith("#")]
        return {name: float(value) for name, value in lines}

    before = counters()
    wo = release(floor.engine, quantity=5)
    for code in ("EMP:E1", f"WO:{wo}/0010", "CMD:START", "QTY:2"):
        floor.ok("ws-10", code)
    floor.refused("ws-10", "QTY:9")  # a refused scan is committed too (its scan-log row)
    after = counters()
    assert (
        after["shopfloor_mes_scan_requests_total"] - before["shopfloor_mes_scan_requests_total"]
        == 5
    )
    batches = after["shopfloor_mes_scan_batches_total"] - before["shopfloor_mes_scan_batches_total"]
    assert 1 <= batches <= 5
    assert (
        after["shopfloor_mes_scan_writer_cpu_seconds_total"]
        > before["shopfloor_mes_scan_writer_cpu_seconds_total"]
    )
