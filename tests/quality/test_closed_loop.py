"""Condition events into the MES lifecycle, journal and notifications, with the closed loop
holding the work order and lots of the workstation; release by quality only."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, select

from config.loader import parse_plant
from config.plant import PlantConfig
from edge.alarms.conditions import Condition, ConditionEvent
from edge.model import now_ms
from mes.alarms.models import AlarmCurrent, AlarmJournal, AlarmJournalAppendOnly, Notification
from mes.alarms.service import AlarmService
from mes.orders.models import Operation, WorkOrder
from mes.production.models import ProductionEvent
from mes.quality.holds import Disposition, NotPermitted
from mes.quality.holds_service import active_holds_for, release_hold
from tests.quality.db import database, running_work_order

ALARM = "oven-01.temperature.hh"


def plant(plant_yaml: Path) -> PlantConfig:
    data = yaml.safe_load(plant_yaml.read_text())
    data["alarms"] = [
        {
            "device": "oven-01",
            "tag": "temperature",
            "kind": "limit",
            "level": "HH",
            "limit": 200,
            "priority": "critical",
            "workstation": "ws-20",
            "quality_action": {"reason": "oven temperature excursion", "window_before_s": 60},
        }
    ]
    return parse_plant(data, "test", environ={})


def condition(cond: Condition, ts: int, value: float) -> ConditionEvent:
    return ConditionEvent(
        ALARM, "oven-01", "temperature", cond, ts, ts - 500, value, 200.0, "good", "critical", "hot"
    )


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/mes.db"
    return str(request.getfixturevalue("postgres_url"))


def test_excursion_holds_the_work_order_and_lots_until_quality_releases(
    plant_yaml: Path, db_url: str
) -> None:
    engine = database(db_url)
    wo_id = running_work_order(engine)
    service = AlarmService(plant(plant_yaml))
    ts = now_ms()
    with Session(engine) as s:
        assert service.on_conditions(s, [condition(Condition.RAISED, ts, 212.0)]) == 1
        s.commit()
    with Session(engine) as s:
        # re-sent by the edge's durable queue: nothing changes
        assert service.on_conditions(s, [condition(Condition.RAISED, ts, 212.0)]) == 0
        s.commit()
        row = s.get(AlarmCurrent, ALARM)
        assert row is not None
        assert (row.state, row.priority, row.area, row.path, row.message) == (
            "active_unacked",
            "critical",
            "finishing",
            "finishing/line1/oven1/oven-01",
            "hot",
        )
        op = s.exec(select(Operation).where(Operation.work_order_id == wo_id)).one()
        holds = active_holds_for(s, wo_id, op.id, "ws-20", [])
        assert [h.target.id for h in holds] == ["WO-000001"]
        assert holds[0].describe() == "oven temperature excursion (hold H-1)"
        assert [h.target.id for h in active_holds_for(s, None, None, None, ["WO-000001-L1"])] == [
            "WO-000001-L1"
        ]
        wo = s.get(WorkOrder, wo_id)
        assert wo is not None
        assert (wo.status, wo.held_from) == ("HELD", "RUNNING")
        notes = s.exec(select(Notification).order_by(Notification.id)).all()  # type: ignore[arg-type]
        assert [n.topic for n in notes] == ["alarms", "holds", "holds"]
        alarm_event = json.loads(notes[0].payload)
        assert alarm_event["state"] == "active_unacked"
        assert alarm_event["value"] == 212.0
        assert alarm_event["event_id"] == f"{ALARM}@{ts}:raised"
        hold_event = json.loads(notes[1].payload)
        assert (hold_event["action"], hold_event["target"], hold_event["disposition"]) == (
            "placed",
            {"kind": "work_order", "id": "WO-000001"},
            None,
        )
        with pytest.raises(NotPermitted):
            release_hold(s, "H-1", "user:boss", ["supervisor"], Disposition.USE_AS_IS)
        release_hold(s, "H-1", "user:qa", ["quality"], Disposition.REWORK, "re-cure 20 min")
        s.commit()
    with Session(engine) as s:
        assert active_holds_for(s, wo_id, None, "ws-20", []) == []
        wo = s.get(WorkOrder, wo_id)
        assert wo is not None
        assert (wo.status, wo.held_from) == ("RUNNING", None)
        # rework: a rework operation at the end of the work order, and the disposition recorded
        ops = s.exec(select(Operation).where(Operation.work_order_id == wo_id)).all()
        rework = max(ops, key=lambda o: o.seq)
        assert (rework.number, rework.name, rework.workstation, rework.status) == (
            "9010",
            "Rework (H-1)",
            "ws-20",
            "READY",
        )
        kinds = [e.kind for e in s.exec(select(ProductionEvent)).all()]
        assert kinds == ["work_order.held", "work_order.hold_released", "quality.disposition"]
        # scrap of the held lot records a scrap event
        release_hold(s, "H-2", "user:qa", ["quality"], Disposition.SCRAP)
        s.commit()
        scrap = s.exec(select(ProductionEvent).where(ProductionEvent.kind == "quality.scrap")).one()
        assert json.loads(scrap.detail_json)["target"] == {"kind": "lot", "id": "WO-000001-L1"}
        last = s.exec(
            select(Notification).order_by(Notification.id.desc()).offset(1)  # type: ignore[union-attr]
        ).first()  # type: ignore[union-attr]
        assert last is not None
        released = json.loads(last.payload)
        assert (released["action"], released["disposition"], released["by"]) == (
            "released",
            "rework",
            "user:qa",
        )


def test_a_second_raise_of_the_same_episode_places_no_second_hold(
    plant_yaml: Path, tmp_path: Path
) -> None:
    engine = database(f"sqlite:///{tmp_path}/mes.db")
    running_work_order(engine)
    service = AlarmService(plant(plant_yaml))
    ts = now_ms()
    with Session(engine) as s:
        service.on_conditions(s, [condition(Condition.RAISED, ts, 212.0)])
        service.on_conditions(s, [condition(Condition.CLEARED, ts + 1000, 190.0)])
        service.on_conditions(s, [condition(Condition.RAISED, ts + 2000, 215.0)])
        s.commit()
        journal = s.exec(select(AlarmJournal).order_by(AlarmJournal.id)).all()  # type: ignore[arg-type]
        assert [(j.action, j.state) for j in journal] == [
            ("raised", "active_unacked"),
            ("cleared", "rtn_unacked"),
            ("raised", "active_unacked"),
        ]
        holds = s.exec(select(Notification).where(Notification.topic == "holds")).all()
        # the second episode holds again (a new window), the first one's holds are not repeated
        assert len(holds) == 4
        journal[0].message = "rewritten"
        s.add(journal[0])
        with pytest.raises(AlarmJournalAppendOnly):
            s.flush()


def test_agent_silence_raises_and_clears_an_edge_alarm(plant_yaml: Path, tmp_path: Path) -> None:
    engine = database(f"sqlite:///{tmp_path}/mes.db")
    service = AlarmService(plant(plant_yaml))
    t = datetime.now(UTC)
    with Session(engine) as s:
        assert service.on_agent_status(s, "edge-1", False, t)
        assert not service.on_agent_status(s, "edge-1", False, t + timedelta(seconds=1))
        row = s.get(AlarmCurrent, "edge-1._edge.offline")
        assert row is not None
        assert (row.state, row.priority, row.area, row.message) == (
            "active_unacked",
            "high",
            "_edge",
            "edge agent edge-1 offline",
        )
        assert service.on_agent_status(s, "edge-1", True, t + timedelta(seconds=2))
        assert row.state == "rtn_unacked"


def test_an_edited_plant_file_updates_the_alarm_on_its_next_event(
    plant_yaml: Path, tmp_path: Path
) -> None:
    engine = database(f"sqlite:///{tmp_path}/mes.db")
    cfg = plant(plant_yaml)
    ts = now_ms()
    with Session(engine) as s:
        AlarmService(cfg).on_conditions(s, [condition(Condition.RAISED, ts, 212.0)])
        s.commit()
    edited = cfg.model_copy(
        update={"alarms": [cfg.alarms[0].model_copy(update={"priority": "low", "latching": True})]}
    )
    with Session(engine) as s:
        AlarmService(edited).on_conditions(s, [condition(Condition.CLEARED, ts + 1, 150.0)])
        s.commit()
        row = s.get(AlarmCurrent, ALARM)
        assert row is not None
        assert (row.priority, row.latching, row.state) == ("low", True, "rtn_unacked")
