"""A hold is never placed on a finished work order, and quality releases every hold of one
cause (an alarm excursion, a nonconformance) with one disposition: each audited, each with its
`_mes/holds` event."""

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from edge.alarms.conditions import Condition
from edge.model import now_ms
from mes.alarms.service import AlarmService
from mes.core.audit import AuditEntry
from mes.core.notifications import Notification
from mes.orders.models import WorkOrder
from mes.production.models import ProductionEvent
from mes.quality.holds import Disposition, Target, TargetKind
from mes.quality.holds_service import TargetFinished, place_hold, release_holds_of
from mes.quality.models import HoldRecord
from tests.mes.orders_support import release
from tests.mes.scan_harness import add_user, bearer, plant_config, running_app
from tests.quality.db import database, running_work_order
from tests.quality.test_closed_loop import condition, plant
from tests.services.mosquitto import Mosquitto


def finish(engine: Engine, number: str, status: str, reported_at: str = "ws-20") -> None:
    """Make the work order `status`, having reported at `reported_at` a moment ago."""
    with Session(engine) as s:
        wo = s.exec(select(WorkOrder).where(WorkOrder.number == number)).one()
        wo.status = status
        s.add(wo)
        s.add(
            ProductionEvent(
                work_order_id=wo.id,
                kind="quantity.good",
                workstation=reported_at,
                at=datetime.now(UTC),
                good=1,
                actor="system:test",
            )
        )
        s.commit()


def test_an_excursion_holds_no_finished_order(plant_yaml: Path, tmp_path: Path) -> None:
    engine = database(f"sqlite:///{tmp_path}/mes.db")
    running_work_order(engine, "WO-000001")
    for number, status in (("WO-000002", "CLOSED"), ("WO-000003", "COMPLETED")):
        running_work_order(engine, number)
        finish(engine, number, status)
    with Session(engine) as s:
        AlarmService(plant(plant_yaml)).on_conditions(
            s, [condition(Condition.RAISED, now_ms(), 212.0)]
        )
        s.commit()
        held = {(h.target_kind, h.target_id) for h in s.exec(select(HoldRecord))}
    # the running order is held; the finished ones are not, but what they made is (by lot)
    assert ("work_order", "WO-000001") in held
    assert ("work_order", "WO-000002") not in held
    assert ("work_order", "WO-000003") not in held
    assert {("lot", "WO-000002-L1"), ("lot", "WO-000003-L1")} <= held


@pytest.mark.parametrize("status", ["CLOSED", "COMPLETED", "CANCELLED", "ABORTED"])
def test_a_finished_order_or_its_operation_cannot_be_held(tmp_path: Path, status: str) -> None:
    engine = database(f"sqlite:///{tmp_path}/mes.db")
    running_work_order(engine, "WO-000009")
    finish(engine, "WO-000009", status)
    with Session(engine) as s:
        for target in (
            Target(TargetKind.WORK_ORDER, "WO-000009"),
            Target(TargetKind.OPERATION, "WO-000009/0020"),
        ):
            with pytest.raises(TargetFinished, match=f"WO-000009 is {status}"):
                place_hold(s, target, "late find", "quality", "user:qa")
        assert s.exec(select(HoldRecord)).first() is None


def test_quality_releases_every_hold_of_one_excursion_at_once(
    plant_yaml: Path, tmp_path: Path
) -> None:
    engine = database(f"sqlite:///{tmp_path}/mes.db")
    wo_id = running_work_order(engine, "WO-000001")
    with Session(engine) as s:
        AlarmService(plant(plant_yaml)).on_conditions(
            s, [condition(Condition.RAISED, now_ms(), 212.0)]
        )
        place_hold(
            s, Target(TargetKind.WORK_ORDER, "WO-000001"), "wrong coil", "quality", "user:qa"
        )
        s.commit()
        sources = {h.source for h in s.exec(select(HoldRecord)) if h.source}
        assert len(sources) == 1
        source = sources.pop()
        released = release_holds_of(
            s, source, "user:qa", ["quality"], Disposition.USE_AS_IS, "checked"
        )
        s.commit()
        assert [r.target_id for r in released] == ["WO-000001", "WO-000001-L1"]
        still = s.exec(select(HoldRecord).where(HoldRecord.state == "active")).all()
        assert [h.reason for h in still] == ["wrong coil"]  # another cause: still held
        wo = s.get(WorkOrder, wo_id)
        assert wo is not None
        assert wo.status == "HELD"
        audits = s.exec(select(AuditEntry).where(AuditEntry.action == "hold.release")).all()
        assert sorted(a.target for a in audits) == sorted(r.hold_id for r in released)
        events = [
            json.loads(n.payload)
            for n in s.exec(select(Notification).order_by(col(Notification.id)))
            if n.topic == "holds"
        ]
        assert [(e["hold_id"], e["disposition"]) for e in events if e["action"] == "released"] == [
            (r.hold_id, "use_as_is") for r in released
        ]


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
        yield client, eng, tokens


def test_holds_of_one_cause_over_http(app: tuple[Any, Any, Any]) -> None:
    client, engine, t = app
    wo, done = release(engine, "PO-A", 10), release(engine, "PO-B", 10)
    with Session(engine) as s:
        for target in (Target(TargetKind.WORK_ORDER, wo), Target(TargetKind.LOT, "L-7")):
            place_hold(s, target, "die crack", "quality", "system:test", source="nc:NC-1")
        closed = s.exec(select(WorkOrder).where(WorkOrder.number == done)).one()
        closed.status = "CLOSED"
        s.add(closed)
        s.commit()
    body = {"target": {"kind": "work_order", "id": done}, "reason": "late find"}
    r = client.post("/api/v1/holds", json=body, headers=t["qa"])
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "ILLEGAL_TRANSITION"
    assert "CLOSED" in r.json()["detail"]
    of_cause = client.get("/api/v1/holds", params={"source": "nc:NC-1"}, headers=t["boss"])
    assert len(of_cause.json()) == 2
    release_body = {"source": "nc:NC-1", "disposition": "scrap", "comment": "die cracked"}
    url = "/api/v1/holds/release-by-source"
    assert client.post(url, json=release_body, headers=t["boss"]).status_code == 403
    r = client.post(url, json=release_body, headers=t["qa"])
    assert r.status_code == 200, r.text
    assert [(h["target"]["id"], h["disposition"]) for h in r.json()] == [
        (wo, "scrap"),
        ("L-7", "scrap"),
    ]
    again = client.post(url, json=release_body, headers=t["qa"])
    assert again.status_code == 404
    assert again.json()["code"] == "UNKNOWN_HOLD"
    assert client.get("/api/v1/holds", params={"source": "nc:NC-1"}, headers=t["boss"]).json() == []
