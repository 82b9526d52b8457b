"""Scan API rules that need no work order: logins, refusals, idempotency, debounce, scan log."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from mes.reporting.models import ScanRecord, StationLogin
from tests.mes.scan_harness import add_operators, admin_token, bearer, enrol, plant_config, scan
from tests.mes.scan_harness import running_app as _running_app
from tests.services.mosquitto import Mosquitto


@pytest.fixture
def station(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[tuple[TestClient, Engine, str]]:
    with _running_app(plant_config(f"sqlite:///{tmp_path}/mes.db", mosquitto.url)) as (
        client,
        engine,
    ):
        admin = admin_token(client)
        add_operators(client, admin, "E1", "E2")
        yield client, engine, enrol(client, admin, "ws-10")


def test_badge_logs_in_then_out_and_several_operators_may_be_logged_in(station: tuple) -> None:
    client, _, token = station
    r = scan(client, token, "ws-10", "EMP:E1\r\n")
    assert r.status_code == 200
    body = r.json()
    assert body["accepted"] is True
    assert body["action"] == "operator.login"
    r = scan(client, token, "ws-10", "EMP:E2")
    ops = [o["badge"] for o in r.json()["station_state"]["operators"]]
    assert ops == ["E1", "E2"]
    r = scan(client, token, "ws-10", "EMP:E1")
    assert r.json()["action"] == "operator.logout"
    assert [o["badge"] for o in r.json()["station_state"]["operators"]] == ["E2"]
    r = scan(client, token, "ws-10", "CMD:LOGOUT")
    assert r.json()["station_state"]["operators"] == []


def test_unknown_badge_and_unknown_barcode_are_refused_and_logged(station: tuple) -> None:
    client, _engine, token = station
    r = scan(client, token, "ws-10", "EMP:NOBODY")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "UNKNOWN_OPERATOR"
    r = scan(client, token, "ws-10", "hello world")
    assert r.status_code == 422
    assert r.json() == {
        "accepted": False,
        "error": {
            "code": "UNKNOWN_BARCODE",
            "message": "Unknown barcode: 'hello world' matches no barcode this station knows",
            # extension: what to do next, in the station's language (en: no Accept-Language)
            "text": "This barcode means nothing here. Scan a badge, a work order sheet or a "
            "command card.",
        },
        "station_state": r.json()["station_state"],
    }
    log = client.get("/api/v1/stations/ws-10/scans", headers=bearer(token)).json()
    assert [e["code"] for e in log] == ["hello world", "EMP:NOBODY"]
    assert [e["error_code"] for e in log] == ["UNKNOWN_BARCODE", "UNKNOWN_OPERATOR"]


def test_production_scans_need_an_operator(station: tuple) -> None:
    client, _, token = station
    for code in ("QTY:5", "CMD:START", "WO:WO-000001/0010", "SCRAP:1:BURR", "RSN:TOOL"):
        r = scan(client, token, "ws-10", code)
        assert r.status_code == 422, code
        assert r.json()["error"]["code"] == "NO_OPERATOR"
        assert "ws-10" in r.json()["error"]["message"]


def test_resend_returns_the_first_answer_and_changes_nothing(station: tuple) -> None:
    client, engine, token = station
    event = str(uuid.uuid4())
    first = scan(client, token, "ws-10", "EMP:E1", event_id=event)
    # much later, same event: still the login answer, not a logout
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    again = scan(client, token, "ws-10", "EMP:E1", event_id=event, scanned_at=later)
    assert again.status_code == first.status_code == 200
    assert again.json() == first.json()
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(StationLogin)).one() == 1
        n = session.exec(select(func.count()).select_from(ScanRecord)).one()
    assert n == 1


def test_refusal_resend_is_the_same_refusal(station: tuple) -> None:
    client, _, token = station
    event = str(uuid.uuid4())
    first = scan(client, token, "ws-10", "QTY:1", event_id=event)
    scan(client, token, "ws-10", "EMP:E1")
    again = scan(client, token, "ws-10", "QTY:1", event_id=event)
    assert first.status_code == again.status_code == 422
    assert again.json() == first.json()


def test_event_id_of_another_station_is_a_conflict(tmp_path: Path, mosquitto: Mosquitto) -> None:
    with _running_app(plant_config(f"sqlite:///{tmp_path}/mes.db", mosquitto.url)) as (client, _):
        admin = admin_token(client)
        add_operators(client, admin, "E1")
        t10, t20 = enrol(client, admin, "ws-10"), enrol(client, admin, "ws-20")
        assert scan(client, t10, "ws-10", "EMP:E1", event_id="same-id").status_code == 200
        r = scan(client, t20, "ws-20", "EMP:E1", event_id="same-id")
        assert r.status_code == 409
        assert r.json()["code"] == "EVENT_ID_REUSED"


def test_double_scan_within_debounce_is_ignored(station: tuple) -> None:
    client, _engine, token = station
    t0 = datetime.now(UTC)
    r1 = scan(client, token, "ws-10", "EMP:E1", scanned_at=t0.isoformat())
    r2 = scan(
        client, token, "ws-10", "EMP:E1", scanned_at=(t0 + timedelta(seconds=0.5)).isoformat()
    )
    assert r1.json()["action"] == "operator.login"
    assert r2.status_code == 200
    assert r2.json()["action"] == "scan.ignored"
    assert "double scan" in r2.json()["message"]
    assert [o["badge"] for o in r2.json()["station_state"]["operators"]] == ["E1"]
    # outside the window the same code acts again (log out)
    r3 = scan(client, token, "ws-10", "EMP:E1", scanned_at=(t0 + timedelta(seconds=3)).isoformat())
    assert r3.json()["action"] == "operator.logout"
    log = client.get("/api/v1/stations/ws-10/scans", headers=bearer(token)).json()
    assert [e["action"] for e in log] == ["operator.logout", "scan.ignored", "operator.login"]


def test_debounce_is_per_station_and_per_code(tmp_path: Path, mosquitto: Mosquitto) -> None:
    with _running_app(plant_config(f"sqlite:///{tmp_path}/mes.db", mosquitto.url)) as (client, _):
        admin = admin_token(client)
        add_operators(client, admin, "E1", "E2")
        t10, t20 = enrol(client, admin, "ws-10"), enrol(client, admin, "ws-20")
        assert scan(client, t10, "ws-10", "EMP:E1").json()["action"] == "operator.login"
        assert scan(client, t20, "ws-20", "EMP:E1").json()["action"] == "operator.login"
        assert scan(client, t10, "ws-10", "EMP:E2").json()["action"] == "operator.login"


def test_invalid_requests_are_problems_not_500(station: tuple) -> None:
    client, _, token = station
    bad = [
        {},
        {"station": "ws-10", "code": "QTY:1"},
        {"station": "ws-10", "code": "QTY:1", "event_id": ""},
        {"station": "ws-10", "code": "x" * 5000, "event_id": "e"},
        {"station": "ws-10", "code": "QTY:1", "event_id": "e", "scanned_at": "yesterday"},
        {"station": "ws-10", "code": "QTY:1", "event_id": "e", "scanned_at": "2026-01-01T00:00"},
        {"station": "../etc", "code": "QTY:1", "event_id": "e"},
        # year 1 at +14:00 is before year 1 in UTC: must be a 422, not an overflow
        {"station": "ws-10", "code": "Q", "event_id": "e", "scanned_at": "0001-01-01T01:00+14:00"},
        {"station": "ws-10", "code": "Q", "event_id": "e", "scanned_at": "9999-12-31T23:00Z"},
    ]
    for body in bad:
        r = client.post("/api/v1/scans", json=body, headers=bearer(token))
        assert r.status_code == 422, body
        assert r.headers["content-type"].startswith("application/problem+json")
    r = scan(client, token, "ws-77", "EMP:E1")
    assert r.status_code in (403, 404)


def test_site_prefixes_from_the_plant_file(tmp_path: Path, mosquitto: Mosquitto) -> None:
    cfg = plant_config(
        f"sqlite:///{tmp_path}/mes.db",
        mosquitto.url,
        scan_prefixes={"employee": "B#", "command": "DO#"},
    )
    with _running_app(cfg) as (client, _):
        admin = admin_token(client)
        add_operators(client, admin, "4711")
        token = enrol(client, admin, "ws-10")
        assert scan(client, token, "ws-10", "B#4711").json()["action"] == "operator.login"
        assert scan(client, token, "ws-10", "EMP:4711").json()["error"]["code"] == (
            "UNKNOWN_BARCODE"
        )
        assert scan(client, token, "ws-10", "DO#LOGOUT").json()["action"] == "operator.logout"


def test_ambiguous_site_prefixes_stop_the_start(tmp_path: Path, mosquitto: Mosquitto) -> None:
    cfg = plant_config(
        f"sqlite:///{tmp_path}/mes.db", mosquitto.url, scan_prefixes={"quantity": "S"}
    )
    with pytest.raises(ValueError, match=r"mes.scan_prefixes: .*ambiguous"), _running_app(cfg):
        pass


def test_a_refused_scan_may_be_scanned_again_at_once(station: tuple) -> None:
    client, _, token = station
    t0 = datetime.now(UTC)
    first = scan(client, token, "ws-10", "EMP:GHOST", scanned_at=t0.isoformat())
    soon = (t0 + timedelta(seconds=0.3)).isoformat()
    again = scan(client, token, "ws-10", "EMP:GHOST", scanned_at=soon)
    assert first.json()["error"]["code"] == again.json()["error"]["code"] == "UNKNOWN_OPERATOR"
