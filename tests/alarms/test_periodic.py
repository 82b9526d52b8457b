"""Auto-unshelve and escalation on both databases (row locks skip what another replica holds)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, select

from config.loader import parse_plant
from edge.alarms.conditions import Condition, ConditionEvent
from mes.alarms import lifecycle as lc
from mes.alarms.models import AlarmCurrent, Notification
from mes.alarms.runtime import escalate_due
from mes.alarms.service import AlarmService
from tests.quality.db import database


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/mes.db"
    return str(request.getfixturevalue("postgres_url"))


def test_shelf_expiry_and_escalation(plant_yaml: Path, db_url: str) -> None:
    data = yaml.safe_load(plant_yaml.read_text())
    data["alarms"] = [
        {
            "device": "oven-01",
            "tag": "temperature",
            "kind": "limit",
            "level": "H",
            "limit": 1,
            "priority": "high",
        },
        {
            "device": "oven-01",
            "tag": "temperature",
            "kind": "limit",
            "level": "HH",
            "limit": 2,
            "priority": "critical",
        },
    ]
    cfg = parse_plant(data, "t", environ={})
    service = AlarmService(cfg)
    engine = database(db_url)
    now = datetime.now(UTC)
    ts = int(now.timestamp() * 1000)
    events = [
        ConditionEvent(
            a, "oven-01", "temperature", Condition.RAISED, ts, ts, 3.0, 1.0, "good", p, "hot"
        )
        for a, p in (("oven-01.temperature.h", "high"), ("oven-01.temperature.hh", "critical"))
    ]
    op = lc.Actor("operator:E1", frozenset({"station"}))
    with Session(engine) as s:
        service.on_conditions(s, events)
        service.act(s, "oven-01.temperature.h", lc.Shelve(op, now, now + timedelta(minutes=5), "r"))
        s.commit()
    with Session(engine) as s:
        assert service.unshelve_expired(s, now + timedelta(minutes=4)) == []
        assert service.unshelve_expired(s, now + timedelta(minutes=5)) == ["oven-01.temperature.h"]
        assert escalate_due(s, cfg, now + timedelta(minutes=9)) == []
        later = now + timedelta(minutes=11)
        assert sorted(escalate_due(s, cfg, later)) == ["oven-01.temperature.hh"]
        # the unshelved one counts from its unshelving; each escalates once
        assert escalate_due(s, cfg, later + timedelta(minutes=4)) == ["oven-01.temperature.h"]
        assert escalate_due(s, cfg, later + timedelta(minutes=30)) == []
        s.commit()
        row = s.get(AlarmCurrent, "oven-01.temperature.h")
        assert row is not None
        assert row.state == "active_unacked"
        actions = [n.payload for n in s.exec(select(Notification)).all()]
        assert sum('"escalated"' in p for p in actions) == 2
