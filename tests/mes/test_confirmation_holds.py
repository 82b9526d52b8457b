"""Holds and releases reflected in ERP confirmations (extensions `holds` and `disposition`):
scans, holds and releases over the real API, confirmations through the real outbox and a real
broker to the ERP simulator."""

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from mes.production.confirmation import Confirmation
from mes.production.models import ProductionEvent
from simulators.erp import ErpSimulator
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
from uns.topics import Namespace


def test_payload_extensions_only_when_there_is_something_to_say() -> None:
    at = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    plain = Confirmation("m1", "PO-1", "WO-000001", "0010", "ws-10", None, at, good=3)
    assert "holds" not in plain.as_json()
    assert "disposition" not in plain.as_json()
    hold = {"hold_id": "H-1", "reason": "burr", "target": {"kind": "lot", "id": "L1"}}
    held = Confirmation(
        "m2", "PO-1", "WO-000001", "0010", "ws-10", None, at, holds=(hold,), disposition={"a": 1}
    ).as_json()
    assert (held["holds"], held["disposition"]) == ([hold], {"a": 1})


class Plant:
    def __init__(self, client: TestClient, engine: Engine, erp: ErpSimulator) -> None:
        self.client, self.engine, self.erp = client, engine, erp
        admin = admin_token(client)
        add_operators(client, admin, "E1")
        self.stations = {ws: enrol(client, admin, ws) for ws in ("ws-10", "ws-20")}
        add_user(engine, "qa", "quality", "qa-password-1")
        r = client.post("/api/v1/auth/login", json={"username": "qa", "password": "qa-password-1"})
        self.qa = bearer(r.json()["access_token"])
        self.erp_id = f"PO-{uuid.uuid4().hex[:8]}"
        self.wo = release(engine, self.erp_id, quantity=20)

    def scan(self, station: str, *codes: str) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for code in codes:
            r = scan(self.client, self.stations[station], station, code)
            body = r.json()
            assert r.status_code == 200, (code, r.text)
        return body

    def hold(self, kind: str, target: str, reason: str) -> str:
        body = {"target": {"kind": kind, "id": target}, "reason": reason}
        r = self.client.post("/api/v1/holds", json=body, headers=self.qa)
        assert r.status_code == 201, r.text
        return str(r.json()["hold_id"])

    def release(self, hold_id: str, disposition: str, **extra: Any) -> None:
        r = self.client.post(
            f"/api/v1/holds/{hold_id}/release",
            json={"disposition": disposition, **extra},
            headers=self.qa,
        )
        assert r.status_code == 200, r.text

    def confirmations(self, count: int) -> list[dict[str, Any]]:
        """The ERP's confirmations of this order once it has `count` of them."""
        got = self.erp.wait(lambda ledger: len(ledger.for_order(self.erp_id)) >= count, 10)
        confs = self.erp.ledger.for_order(self.erp_id)
        assert got, f"the ERP received {len(confs)} confirmations, not {count}"
        return confs


@pytest.fixture
def plant(tmp_path: Path, mosquitto_factory: Callable[..., Mosquitto]) -> Iterator[Plant]:
    broker = mosquitto_factory().start()
    cfg = plant_config(f"sqlite:///{tmp_path}/mes.db", broker.url, debounce_s=0.0)
    ns = Namespace(cfg.plant.enterprise, cfg.plant.site)
    erp = ErpSimulator(cfg.broker, ns, client_id=f"erp-{uuid.uuid4().hex[:6]}").start()
    try:
        assert erp.wait_subscribed(10)
        with running_app(cfg) as (client, engine):
            yield Plant(client, engine, erp)
    finally:
        erp.stop()


def test_confirmations_carry_active_holds_and_dispositions_reach_the_erp(plant: Plant) -> None:
    wo = plant.wo
    plant.scan("ws-10", "EMP:E1", f"WO:{wo}/0010", "CMD:START", "QTY:6")
    (first,) = plant.confirmations(1)
    assert "holds" not in first

    # a hold on the next operation does not stop 0010, and its confirmations carry it
    fixture = plant.hold("operation", f"{wo}/0020", "bending fixture out of calibration")
    plant.scan("ws-10", "QTY:2")
    second = plant.confirmations(2)[1]
    fixture_hold = {
        "hold_id": fixture,
        "reason": "bending fixture out of calibration",
        "target": {"kind": "operation", "id": f"{wo}/0020"},
    }
    assert (second["good"], second["holds"]) == (2, [fixture_hold])

    # scrap of everything 0010 made: good 0, scrap 8 under HOLD_SCRAP, naming the hold
    burr = plant.hold("operation", f"{wo}/0010", "burr found at audit")
    r = scan(plant.client, plant.stations["ws-10"], "ws-10", "QTY:1")
    assert r.json()["error"]["code"] == "WORK_ORDER_HELD"
    plant.release(burr, "scrap", comment="burr on all parts")
    scrapped = plant.confirmations(3)[2]
    assert scrapped["type"] == "operation.confirmation"
    assert (scrapped["operation"], scrapped["good"], scrapped["scrap"], scrapped["rework"]) == (
        "0010",
        0,
        8,
        0,
    )
    assert scrapped["scrap_reasons"] == {"HOLD_SCRAP": 8}
    assert scrapped["final"] is False
    assert scrapped["disposition"] == {
        "hold_id": burr,
        "disposition": "scrap",
        "target": {"kind": "operation", "id": f"{wo}/0010"},
        "quantity": 8,
    }
    assert scrapped["holds"] == [fixture_hold]  # the released one is gone, the other remains
    with Session(plant.engine) as s:
        event = s.exec(select(ProductionEvent).where(ProductionEvent.kind == "quality.scrap")).one()
        assert (event.scrap, event.confirmation_message_id) == (8, scrapped["message_id"])

    # use as is sends nothing; the lot made at 0020 is then reworked: its reported quantity
    plant.release(fixture, "use_as_is")
    plant.scan("ws-10", "CMD:COMPLETE")
    plant.scan("ws-20", "EMP:E1", f"WO:{wo}/0020", "CMD:START", "QTY:5")
    made = plant.confirmations(5)[4]
    assert "holds" not in made
    ((lot, lot_hold),) = [
        (line["lot"], plant.hold("lot", line["lot"], "paint drips")) for line in made["produced"]
    ]
    plant.scan("ws-20", "CMD:UNDO", "QTY:4")  # the lot now holds 4
    confs = plant.confirmations(7)
    assert confs[6]["holds"] == [
        {"hold_id": lot_hold, "reason": "paint drips", "target": {"kind": "lot", "id": lot}}
    ]
    plant.release(lot_hold, "rework")
    reworked = plant.confirmations(8)[7]
    assert (reworked["operation"], reworked["good"], reworked["scrap"]) == ("0020", 0, 0)
    assert reworked["rework"] == 4
    assert reworked["disposition"]["rework_operation"] == "9010"
    assert "holds" not in reworked

    # a work-order hold scrapped with a quantity given by quality: at the furthest operation
    order_hold = plant.hold("work_order", wo, "customer complaint")
    plant.release(order_hold, "scrap", quantity=2)
    last = plant.confirmations(9)[8]
    assert (last["operation"], last["scrap"], last["scrap_reasons"]) == (
        "0020",
        2,
        {"HOLD_SCRAP": 2},
    )
    assert len(plant.erp.ledger.for_order(plant.erp_id)) == 9
    assert plant.erp.ledger.duplicates == 0


def test_nothing_to_dispose_of_sends_nothing(plant: Plant) -> None:
    wo = plant.wo
    plant.scan("ws-10", "EMP:E1", f"WO:{wo}/0010", "CMD:START")
    hold = plant.hold("operation", f"{wo}/0010", "wrong coil")
    plant.release(hold, "scrap")
    plant.scan("ws-10", "QTY:3")
    (only,) = plant.confirmations(1)
    assert (only["good"], only["scrap"]) == (3, 0)
    with Session(plant.engine) as s:
        event = s.exec(select(ProductionEvent).where(ProductionEvent.kind == "quality.scrap")).one()
        assert (event.scrap, event.confirmation_message_id) == (0, None)
