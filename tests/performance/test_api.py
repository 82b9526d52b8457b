"""The performance API in a running MES (SQLite, real broker): downtime split, merge and
re-reason by supervisors with audit entries, role checks, the reason tree, calendar versions
(forward only) and KPI argument errors, all as problem+json."""

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from config.loader import parse_plant
from config.performance import Performance
from mes.core.audit import AuditEntry
from mes.performance.models import DowntimeEvent
from tests.mes.scan_harness import add_user, admin_token, bearer, enrol, plant_config, running_app
from tests.performance.adapters import PLANT, plant
from tests.services.mosquitto import Mosquitto

T0 = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)


@pytest.fixture
def app(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[tuple[TestClient, Engine]]:
    cfg = plant_config(f"sqlite:///{tmp_path}/mes.db", mosquitto.url)
    reasons = plant().performance.reasons
    cfg = cfg.model_copy(update={"performance": Performance(reasons=reasons)})
    with running_app(cfg) as (client, engine):
        add_user(engine, "boss", "supervisor", "boss-password-1")
        yield client, engine


def login(client: TestClient, user: str, password: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    return bearer(r.json()["access_token"])


def events(engine: Engine, *spans: tuple[int, int]) -> list[int]:
    """Closed fault events of ws-10 over [T0 + a min, T0 + b min)."""
    with Session(engine) as session:
        rows = [
            DowntimeEvent(
                work_unit="ws-10",
                start=T0 + timedelta(minutes=a),
                end=T0 + timedelta(minutes=b),
                state="fault",
            )
            for a, b in spans
        ]
        session.add_all(rows)
        session.commit()
        return [r.id for r in rows if r.id is not None]


def audit(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return [a.action for a in session.exec(select(AuditEntry)).all()]


def test_split_then_merge_back_with_audit(app: tuple[TestClient, Engine]) -> None:
    client, engine = app
    boss = login(client, "boss", "boss-password-1")
    (first,) = events(engine, (0, 30))
    at = (T0 + timedelta(minutes=10)).isoformat()
    r = client.post(
        f"/api/v1/performance/downtime/{first}/split",
        json={"at": at, "reason": "NOMAT"},
        headers=boss,
    )
    assert r.status_code == 200, r.text
    a, b = r.json()
    assert (a["end"], b["start"], b["reason"]) == (b["start"], at.replace("+00:00", "Z"), "NOMAT")
    r = client.post(
        f"/api/v1/performance/downtime/{first}/merge", json={"next_id": b["id"]}, headers=boss
    )
    assert r.status_code == 200, r.text
    assert r.json()["end"].startswith("2026-03-03T08:30")
    assert audit(engine)[-3:] == ["downtime.split", "downtime.reason", "downtime.merge"]


def test_refused_edits_are_problems(app: tuple[TestClient, Engine]) -> None:
    client, engine = app
    boss = login(client, "boss", "boss-password-1")
    first, second = events(engine, (0, 10), (20, 30))
    outside = (T0 + timedelta(hours=1)).isoformat()
    cases: list[tuple[str, dict[str, Any], int]] = [
        (f"{first}/split", {"at": outside}, 409),
        (f"{first}/merge", {"next_id": second}, 409),  # not adjacent
        ("999999/merge", {"next_id": second}, 404),
        (f"{first}/reason", {"reason": "NOT-A-REASON"}, 422),
    ]
    for path, body, status in cases:
        r = client.post(f"/api/v1/performance/downtime/{path}", json=body, headers=boss)
        assert r.status_code == status, (path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    station = enrol(client, admin_token(client), "ws-10")
    r = client.post(
        f"/api/v1/performance/downtime/{first}/split",
        json={"at": (T0 + timedelta(minutes=5)).isoformat()},
        headers=bearer(station),
    )
    assert r.status_code == 403


def test_reason_tree_in_both_languages(app: tuple[TestClient, Engine]) -> None:
    client, _ = app
    r = client.get("/api/v1/performance/reasons", headers=login(client, "boss", "boss-password-1"))
    assert r.status_code == 200
    mech = r.json()[0]
    assert (mech["code"], mech["en"], mech["zh_cn"]) == ("MECH", "Mechanical", "机械故障")
    assert mech["reasons"][0]["code"] == "DIE"


def test_calendar_versions_apply_forward_only(app: tuple[TestClient, Engine]) -> None:
    client, engine = app
    boss = login(client, "boss", "boss-password-1")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0)
    body = {
        "work_centre": "PRESS",
        "timezone": "Europe/Berlin",
        "shifts": [
            {
                "name": "day",
                "start": "07:00",
                "end": "15:00",
                "breaks": [{"start": "11:00", "end": "11:30"}],
            }
        ],
        "valid_from": tomorrow.isoformat(),
    }
    r = client.post("/api/v1/performance/calendars", json=body, headers=boss)
    assert r.status_code == 200, r.text
    # the past is refused; so is a version before the latest one
    yesterday = (tomorrow - timedelta(days=2)).isoformat()
    r = client.post(
        "/api/v1/performance/calendars", json={**body, "valid_from": yesterday}, headers=boss
    )
    assert r.status_code == 422
    assert "forward only" in r.json()["detail"]
    r = client.get(
        "/api/v1/performance/calendars/PRESS",
        params={"start": tomorrow.isoformat(), "end": (tomorrow + timedelta(days=1)).isoformat()},
        headers=boss,
    )
    assert r.status_code == 200, r.text
    (day,) = r.json()
    assert day["shift"] == "day"
    berlin = datetime.combine(tomorrow.date(), time(7), ZoneInfo("Europe/Berlin"))
    assert datetime.fromisoformat(day["start"]) == berlin
    assert "calendar.version" in audit(engine)
    admin = admin_token(client)
    station = enrol(client, admin, "ws-10")
    r = client.post("/api/v1/performance/calendars", json=body, headers=bearer(station))
    assert r.status_code == 403
    later = {**body, "valid_from": (tomorrow + timedelta(days=7)).isoformat()}
    r = client.post("/api/v1/performance/calendars", json=later, headers=bearer(admin))
    assert r.status_code == 200, r.text


def test_kpi_arguments_are_checked(app: tuple[TestClient, Engine]) -> None:
    client, _ = app
    boss = login(client, "boss", "boss-password-1")
    later = (T0 + timedelta(days=1)).isoformat()
    for params, status in [
        ({"start": later, "end": T0.isoformat()}, 422),
        ({"start": T0.isoformat(), "end": later, "scope": "line", "name": "x/y"}, 404),
        ({"start": T0.isoformat(), "end": later, "by": "month"}, 422),
    ]:
        r = client.get("/api/v1/performance/kpi", params=params, headers=boss)
        assert r.status_code == status, (params, r.text)
        assert r.headers["content-type"] == "application/problem+json"


def test_kpi_names_the_line_or_work_centre_asked_for(tmp_path: Path, mosquitto: Mosquitto) -> None:
    """The demo plant names its lines and work centres; here the finishing line and the oven's
    work centre are left unnamed: their names are their ids. `name` stays the id asked for."""
    data = yaml.safe_load(PLANT.read_text(encoding="utf-8"))
    finishing = next(a for a in data["plant"]["areas"] if a["name"] == "finishing")
    for line in finishing["lines"]:
        del line["display_name"], line["display_name_zh_cn"]
    data["work_centres"] = [c for c in data["work_centres"] if c["id"] != "OVEN"]
    data["database"] = {"url": f"sqlite:///{tmp_path}/mes.db"}
    data["broker"] = {"url": mosquitto.url}
    data["mes"] = {**data["mes"], "bootstrap_admin_password": "admin-secret-1"}
    cfg = parse_plant(data, "kpi-names", environ={})
    with running_app(cfg) as (client, _):
        admin = bearer(admin_token(client))
        span = {"start": T0.isoformat(), "end": (T0 + timedelta(hours=8)).isoformat()}
        for scope, name, names in [
            ("line", "stamping/line1", {"en": "Press line", "zh-CN": "冲压线"}),
            ("line", "finishing/line1", {"en": "finishing/line1", "zh-CN": "finishing/line1"}),
            ("work_centre", "PRESS", {"en": "Press work centre", "zh-CN": "冲压工作中心"}),
            ("work_centre", "OVEN", {"en": "OVEN", "zh-CN": "OVEN"}),
            ("work_unit", "ws-10", None),
            ("site", None, None),
        ]:
            params = {**span, "scope": scope, **({"name": name} if name else {})}
            r = client.get("/api/v1/performance/kpi", params=params, headers=admin)
            assert r.status_code == 200, (params, r.text)
            body = r.json()
            assert (body["scope"], body["name"], body["names"]) == (scope, name, names)
            assert len(body["rows"]) == 1
