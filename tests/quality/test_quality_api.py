"""Holds and inspections over HTTP on a real database: roles, stacking, dispositions, NCs."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from mes.orders.models import WorkOrder
from mes.production.models import Lot
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

PLAN = {
    "characteristics": [
        {"name": "hole_dia", "nominal": 8.0, "tol_minus": 0.05, "tol_plus": 0.1, "unit": "mm"},
        {"kind": "attribute", "name": "no_burr"},
    ]
}


def select_job(client: TestClient, station: dict[str, str], wo: str, operation: str) -> None:
    """A badge and a work order scanned at ws-10, as an operator does before inspecting."""
    token = station["Authorization"].removeprefix("Bearer ")
    add_operators(client, admin_token(client), "E-QA")
    for code in ("EMP:E-QA", f"WO:{wo}/{operation}"):
        r = scan(client, token, "ws-10", code)
        assert r.status_code == 200, r.text


def add_lot(engine: Engine, wo: str, code: str, product: str = "BRKT-200") -> None:
    """A lot that work order `wo` produced (`None`: a lot of no work order)."""
    with Session(engine) as s:
        order = s.exec(select(WorkOrder).where(WorkOrder.number == wo)).one()
        s.add(Lot(kind="lot", code=code, product=product, work_order_id=order.id))
        s.commit()


@pytest.fixture
def app(
    tmp_path: Path, mosquitto_factory: Callable[..., Mosquitto]
) -> Iterator[tuple[TestClient, Engine, dict[str, dict[str, str]]]]:
    broker = mosquitto_factory().start()
    with running_app(plant_config(f"sqlite:///{tmp_path}/mes.db", broker.url)) as (client, eng):
        add_user(eng, "boss", "supervisor", "boss-password-1")
        add_user(eng, "qa", "quality", "qa-password-1")
        tokens = {}
        for user, pw in (("boss", "boss-password-1"), ("qa", "qa-password-1")):
            r = client.post("/api/v1/auth/login", json={"username": user, "password": pw})
            tokens[user] = bearer(r.json()["access_token"])
        tokens["ws-10"] = bearer(enrol(client, admin_token(client), "ws-10"))
        yield client, eng, tokens


def test_holds_stack_and_only_quality_releases(app: tuple[Any, Any, Any]) -> None:
    client, engine, t = app
    wo = release(engine, quantity=10)
    body = {"target": {"kind": "work_order", "id": wo}, "reason": "burr on edge"}
    assert client.post("/api/v1/holds", json=body, headers=t["ws-10"]).status_code == 403
    first = client.post("/api/v1/holds", json=body, headers=t["boss"])
    assert first.status_code == 201, first.text
    second = client.post(
        "/api/v1/holds", json={**body, "reason": "wrong coil"}, headers=t["qa"]
    ).json()
    active = client.get("/api/v1/holds", params={"target": wo}, headers=t["boss"]).json()
    assert sorted(h["reason"] for h in active) == ["burr on edge", "wrong coil"]
    hid = first.json()["hold_id"]
    r = client.post(
        f"/api/v1/holds/{hid}/release", json={"disposition": "use_as_is"}, headers=t["boss"]
    )
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    r = client.post(f"/api/v1/holds/{hid}/release", json={"disposition": "maybe"}, headers=t["qa"])
    assert r.status_code == 422
    r = client.post(
        f"/api/v1/holds/{hid}/release",
        json={"disposition": "scrap", "comment": "bin it"},
        headers=t["qa"],
    )
    assert (r.status_code, r.json()["disposition"], r.json()["released_by"]) == (
        200,
        "scrap",
        "user:qa",
    )
    again = client.post(
        f"/api/v1/holds/{hid}/release", json={"disposition": "scrap"}, headers=t["qa"]
    )
    assert again.status_code == 409
    missing = client.post(
        "/api/v1/holds/H-999/release", json={"disposition": "scrap"}, headers=t["qa"]
    )
    assert missing.status_code == 404
    active = client.get("/api/v1/holds", params={"target": wo}, headers=t["boss"]).json()
    assert [h["hold_id"] for h in active] == [second["hold_id"]]


def test_out_of_spec_inspection_makes_a_nonconformance_and_a_hold(
    app: tuple[Any, Any, Any],
) -> None:
    client, engine, t = app
    wo = release(engine, quantity=10)
    url = "/api/v1/inspection-plans/RT-BRKT-200/0010"
    assert client.put(url, json=PLAN, headers=t["ws-10"]).status_code == 403
    bad_plan = {"characteristics": [{"name": "x", "nominal": 1}]}
    assert client.put(url, json=bad_plan, headers=t["qa"]).status_code == 422
    assert client.put(url, json=PLAN, headers=t["qa"]).status_code == 200
    select_job(client, t["ws-10"], wo, "0010")
    add_lot(engine, wo, "L-77")
    ok = client.post(
        "/api/v1/inspections",
        json={"work_order": wo, "operation": "0010", "results": {"hole_dia": 8.05}},
        headers=t["ws-10"],
    )
    assert ok.status_code == 201, ok.text
    assert (ok.json()["passed"], ok.json()["nonconformance"]) == (True, None)
    bad = client.post(
        "/api/v1/inspections",
        json={
            "work_order": wo,
            "operation": "0010",
            "lot": "L-77",
            "results": {"hole_dia": 8.2, "no_burr": True},
        },
        headers=t["ws-10"],
    ).json()
    assert bad["passed"] is False
    assert bad["summary"] == "hole_dia = 8.2 mm (out of spec: 7.95..8.1)"
    (hold,) = client.get("/api/v1/holds", params={"target": "L-77"}, headers=t["qa"]).json()
    assert hold["hold_id"] == bad["hold_id"]
    assert hold["source"] == f"nc:{bad['nonconformance']}"
    ncs = client.get("/api/v1/nonconformances", params={"work_order": wo}, headers=t["qa"]).json()
    assert [n["number"] for n in ncs] == [bad["nonconformance"]]
    unknown = client.post(
        "/api/v1/inspections",
        json={"work_order": wo, "operation": "0010", "results": {"width": 1}},
        headers=t["ws-10"],
    )
    assert unknown.status_code == 422
    assert "'width' is not a characteristic" in unknown.json()["detail"]
    no_plan = client.post(
        "/api/v1/inspections",
        json={"work_order": wo, "operation": "0020", "results": {"a": 1}},
        headers=t["qa"],
    )
    assert no_plan.status_code == 404


def test_a_station_inspects_only_its_selected_job_and_existing_lots(
    app: tuple[Any, Any, Any],
) -> None:
    """Issue 18 item 4: a station token placed holds on any lot or operation (lot free text)."""
    client, engine, t = app
    wo = release(engine, quantity=10)
    other = release(engine, "PO-2002", quantity=5)
    for op in ("0010", "0020"):
        url = f"/api/v1/inspection-plans/RT-BRKT-200/{op}"
        assert client.put(url, json=PLAN, headers=t["qa"]).status_code == 200
    bad = {"hole_dia": 9.0, "no_burr": False}

    def inspect(token: dict[str, str], order: str, op: str, lot: str | None = None) -> Any:
        body = {"work_order": order, "operation": op, "lot": lot, "results": bad}
        return client.post("/api/v1/inspections", json=body, headers=token)

    r = inspect(t["ws-10"], wo, "0010")
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "NOT_THIS_STATIONS_JOB"
    select_job(client, t["ws-10"], wo, "0010")
    r = inspect(t["ws-10"], wo, "0020")  # another station's operation
    assert r.status_code == 403
    r = inspect(t["ws-10"], wo, "0010", lot="ANY-LOT")  # free text
    assert (r.status_code, r.json()["code"]) == (404, "UNKNOWN_LOT")
    add_lot(engine, other, "L-OTHER")
    r = inspect(t["ws-10"], wo, "0010", lot="L-OTHER")  # a lot of another work order
    assert (r.status_code, r.json()["code"]) == (403, "LOT_NOT_IN_JOB")
    assert client.get("/api/v1/holds", headers=t["qa"]).json() == []
    add_lot(engine, wo, "L-MINE")
    r = inspect(t["ws-10"], wo, "0010", lot="L-MINE")
    assert r.status_code == 201, r.text
    (hold,) = client.get("/api/v1/holds", headers=t["qa"]).json()
    assert hold["target"] == {"kind": "lot", "id": "L-MINE"}
    # quality inspects any job, but not a lot nobody knows
    assert inspect(t["qa"], other, "0020", lot="NOPE").status_code == 404
    assert inspect(t["qa"], other, "0020", lot="L-OTHER").status_code == 201
