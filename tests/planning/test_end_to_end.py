"""Issue 15 end to end: ERP order and stock over a real Mosquitto -> plan -> station queue in
plan order -> scans -> replan; `_mes/schedule` reaches the ERP; the schedule API's roles."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from config.plant import Broker, PlantConfig
from simulators.erp import ErpSimulator
from tests.mes.orders_support import unique_site
from tests.mes.scan_harness import add_user, admin_token, bearer, enrol, running_app, scan
from tests.planning.support import planning_plant
from tests.services.mosquitto import Mosquitto
from tests.services.ports import wait_for
from uns.topics import Namespace

STEEL = [{"product": "STEEL-2MM", "quantity_per_unit": 0.3, "unit": "kg"}]


@pytest.fixture
def cfg(tmp_path: Path, mosquitto: Mosquitto) -> PlantConfig:
    return unique_site(planning_plant(f"sqlite:///{tmp_path}/mes.db", mosquitto.url))


@pytest.fixture
def erp(cfg: PlantConfig) -> Iterator[ErpSimulator]:
    sim = ErpSimulator(
        Broker(url=cfg.broker.url),
        Namespace(cfg.plant.enterprise, cfg.plant.site),
        client_id=f"erp-{uuid.uuid4().hex[:6]}",
    ).start()
    yield sim
    sim.stop()


def _plan(client: TestClient, auth: dict[str, str]) -> dict[str, Any] | None:
    r = client.get("/api/v1/schedule", headers=auth)
    if r.status_code == 404:
        assert r.json()["code"] == "NO_PLAN"
        return None
    assert r.status_code == 200, r.text
    return dict(r.json())


def _wait_plan(client: TestClient, auth: dict[str, str], ok: Any, what: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    def check() -> bool:
        plan = _plan(client, auth)
        if plan is not None and ok(plan):
            found.append(plan)
            return True
        return False

    wait_for(check, 30, what)
    return found[-1]


def test_erp_order_to_plan_to_queue_to_scans_to_replan(cfg: PlantConfig, erp: ErpSimulator) -> None:
    with running_app(cfg) as (client, engine):
        admin = admin_token(client)
        auth = bearer(admin)
        erp.stock("STEEL-2MM", 1000, unit="kg")
        erp.release("PO-A", "BRKT-200", 20, "RT-BRKT-200", components=STEEL)
        erp.release("PO-B", "BRKT-200", 30, "RT-BRKT-200", components=STEEL)
        first = _wait_plan(
            client, auth, lambda p: len(p["operations"]) == 4, "a plan of both orders"
        )
        assert first["errors"] == []
        numbers = sorted({o["work_order"] for o in first["operations"]})
        erp.wait(lambda ledger: any(s["plan_id"] == first["id"] for s in ledger.schedules), 15)
        published = next(s for s in erp.ledger.schedules if s["plan_id"] == first["id"])
        assert {o["erp_id"] for o in published["orders"]} == {"PO-A", "PO-B"}

        # the station queue lists the jobs in plan order
        stamping = sorted(
            (o for o in first["operations"] if o["workstation"] == "ws-10"),
            key=lambda o: o["start"],
        )
        r = client.get("/api/v1/stations/ws-10/queue", headers=auth)
        assert r.status_code == 200, r.text
        jobs = r.json()["jobs"]
        planned = [
            (j["work_order"], j["operation"]) for j in jobs if j["planned_workstation"] == "ws-10"
        ]
        assert planned == [(o["work_order"], o["operation"]) for o in stamping]
        assert [j["planned_start"] is not None for j in jobs[: len(planned)]] == [True] * len(
            planned
        )

        # the operator runs the first planned job; the plan follows the floor
        done = stamping[0]["work_order"]
        station = enrol(client, admin, "ws-10")
        r = client.post("/api/v1/operators", json={"badge": "E1", "name": "A"}, headers=auth)
        assert r.status_code == 201, r.text
        for code in ("EMP:E1", f"WO:{done}/0010", "CMD:START", "QTY:20", "CMD:COMPLETE"):
            r = scan(client, station, "ws-10", code)
            assert r.status_code == 200, r.text
            assert r.json()["accepted"], r.json()
        replanned = _wait_plan(
            client,
            auth,
            lambda p: (
                p["id"] > first["id"]
                and (done, "0010")
                not in {(o["work_order"], o["operation"]) for o in p["operations"]}
            ),
            "a replan after the operation finished",
        )
        assert "operations" in replanned["trigger"]
        diff = client.get("/api/v1/schedule/diff", headers=auth).json()
        assert {"work_order": done, "operation": "0010"} in diff["removed"]
        bend = next(
            o
            for o in replanned["operations"]
            if (o["work_order"], o["operation"]) == (done, "0020")
        )
        r = client.get(f"/api/v1/stations/{bend['workstation']}/queue", headers=auth)
        assert (done, "0020") in [(j["work_order"], j["operation"]) for j in r.json()["jobs"]]

        forecast = client.get("/api/v1/schedule/orders", headers=auth).json()
        assert sorted(o["work_order"] for o in forecast["orders"]) == numbers
        assert all(o["late"] is False for o in forecast["orders"])  # due in 3 days

        # supervisors change the plan; a station may only read it
        assert client.post("/api/v1/schedule/replan", headers=bearer(station)).status_code == 403
        assert client.post("/api/v1/schedule/replan", headers=auth).status_code == 403  # admin
        add_user(engine, "sup1", "supervisor", "sup-password-1")
        r = client.post(
            "/api/v1/auth/login", json={"username": "sup1", "password": "sup-password-1"}
        )
        auth = bearer(r.json()["access_token"])
        r = client.post("/api/v1/schedule/replan", headers=auth)
        assert r.status_code == 200, r.text
        assert r.json()["trigger"] == "on demand by user:sup1"
        assert client.get("/api/v1/schedule/history", headers=bearer(station)).status_code == 200
        later = (datetime.now(UTC) + timedelta(hours=2)).replace(second=0, microsecond=0)
        later_text = later.isoformat()
        r = client.post(
            "/api/v1/schedule/lock",
            json={
                "work_order": done,
                "operation": "0020",
                "workstation": "ws-21",
                "start": later_text,
            },
            headers=auth,
        )
        assert r.status_code == 200, r.text
        locked = r.json()
        kept = _wait_plan(
            client,
            auth,
            lambda p: any(
                o["pin"] == "locked" and (o["work_order"], o["operation"]) == (done, "0020")
                for o in p["operations"]
            ),
            "the locked slot in a new plan",
        )
        slot = next(
            o for o in kept["operations"] if (o["work_order"], o["operation"]) == (done, "0020")
        )
        assert (slot["workstation"], locked["workstation"]) == ("ws-21", "ws-21")
        assert datetime.fromisoformat(slot["start"]) == later
        stale = client.post("/api/v1/schedule/approve", json={"plan": first["id"]}, headers=auth)
        assert stale.status_code == 409
        assert stale.json()["code"] == "PLAN_SUPERSEDED"
        r = client.post("/api/v1/schedule/approve", json={"plan": kept["id"]}, headers=auth)
        assert r.status_code == 200, r.text
        assert r.json()["approved_by"] == "user:sup1"
        r = client.post(
            "/api/v1/schedule/unlock", json={"work_order": done, "operation": "0020"}, headers=auth
        )
        assert r.status_code == 204, r.text
