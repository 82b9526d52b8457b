"""Auth workflows and the role matrix over real HTTP routes on a real database."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from mes.auth.roles import MATRIX, Permission, Role, allowed, matrix_markdown
from mes.core.audit import AuditEntry
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


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory, mosquitto: Mosquitto
) -> Iterator[tuple[TestClient, Engine]]:
    """One MES for the module: each test uses its own users, badges and tokens."""
    db = tmp_path_factory.mktemp("auth") / "mes.db"
    with running_app(plant_config(f"sqlite:///{db}", mosquitto.url)) as pair:
        yield pair


def login(client: TestClient, username: str, password: str) -> str:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def test_bootstrap_admin_logs_in_and_wrong_password_is_refused(app: tuple) -> None:
    client, _ = app
    token = admin_token(client)
    me = client.get("/api/v1/auth/me", headers=bearer(token)).json()
    assert me["role"] == "admin"
    assert "manage.users" in me["permissions"]
    r = client.post("/api/v1/auth/login", json={"username": "admin", "password": "nope-nope"})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    r = client.post("/api/v1/auth/login", json={"username": "ghost", "password": "whatever1"})
    assert r.status_code == 401


def test_no_token_or_bad_token_is_401_problem(app: tuple) -> None:
    client, _ = app
    r = client.post("/api/v1/scans", json={"station": "ws-10", "code": "QTY:1", "event_id": "e1"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["code"] == "UNAUTHENTICATED"
    r = client.get("/api/v1/auth/me", headers=bearer("sf_forged"))
    assert r.status_code == 401


def test_logout_revokes_the_token(app: tuple) -> None:
    client, _ = app
    token = admin_token(client)
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401


def test_station_token_acts_only_for_its_station(app: tuple) -> None:
    client, _ = app
    admin = admin_token(client)
    ws10 = enrol(client, admin, "ws-10")
    add_operators(client, admin, "E1")
    assert scan(client, ws10, "ws-10", "EMP:E1").status_code == 200
    r = scan(client, ws10, "ws-20", "EMP:E1")
    assert r.status_code == 403
    assert "ws-10" in r.json()["detail"]
    r = client.post(
        "/api/v1/stations/ws-20/operators/login", json={"badge": "E1"}, headers=bearer(ws10)
    )
    assert r.status_code == 403


def test_re_enrolment_invalidates_the_old_station_token(app: tuple) -> None:
    client, _ = app
    admin = admin_token(client)
    old = enrol(client, admin, "ws-10")
    new = enrol(client, admin, "ws-10")
    assert client.get("/api/v1/auth/me", headers=bearer(old)).status_code == 401
    assert client.get("/api/v1/auth/me", headers=bearer(new)).json()["station"] == "ws-10"
    r = client.post("/api/v1/stations/ws-99/enrol", headers=bearer(admin))
    assert r.status_code == 404


def test_role_matrix_enforced_on_routes(app: tuple) -> None:
    client, engine = app
    admin = admin_token(client)
    add_user(engine, "sup1", "supervisor", "sup-password")
    add_user(engine, "qa1", "quality", "qa-password")
    sup = login(client, "sup1", "sup-password")
    qa = login(client, "qa1", "qa-password")
    station = enrol(client, admin, "ws-10")
    r = client.post(
        "/api/v1/tokens", json={"name": "erp-main", "role": "erp"}, headers=bearer(admin)
    )
    assert r.status_code == 201
    erp = r.json()["access_token"]
    op_body = {"badge": "E9", "name": "Nine"}
    # only admin manages users, operators, stations and tokens
    for token in (sup, qa, station, erp):
        assert (
            client.post("/api/v1/operators", json=op_body, headers=bearer(token)).status_code == 403
        )
        assert client.post("/api/v1/stations/ws-20/enrol", headers=bearer(token)).status_code == 403
        r = client.post("/api/v1/tokens", json={"name": "x", "role": "edge"}, headers=bearer(token))
        assert r.status_code == 403
        r = client.post(
            "/api/v1/users",
            json={"username": "u2", "role": "admin", "password": "long-enough"},
            headers=bearer(token),
        )
        assert r.status_code == 403
    # admin, quality and ERP may not report at stations; supervisor and the station may
    for token in (admin, qa, erp):
        assert scan(client, token, "ws-10", "EMP:E9").status_code == 403
    assert client.post("/api/v1/operators", json=op_body, headers=bearer(admin)).status_code == 201
    assert scan(client, station, "ws-10", "EMP:E9").status_code == 200
    assert scan(client, sup, "ws-10", "CMD:LOGOUT").status_code == 200


def test_admin_actions_are_audited(app: tuple) -> None:
    client, engine = app
    admin = admin_token(client)
    station = enrol(client, admin, "ws-20")
    add_operators(client, admin, "E5")
    assert scan(client, station, "ws-20", "EMP:E5").status_code == 200
    with Session(engine) as session:
        entries = {
            (e.actor, e.action, e.target, e.station) for e in session.exec(select(AuditEntry))
        }
    assert ("user:admin", "station.enrol", "station:ws-20", "ws-20") in entries
    assert ("user:admin", "operator.add", "operator:E5", None) in entries
    assert ("station:ws-20", "operator.login", "operator:E5", "ws-20") in entries


def test_duplicate_user_and_badge_are_conflicts(app: tuple) -> None:
    client, _ = app
    admin = admin_token(client)
    body = {"username": "sup2", "role": "supervisor", "password": "long-enough"}
    assert client.post("/api/v1/users", json=body, headers=bearer(admin)).status_code == 201
    assert client.post("/api/v1/users", json=body, headers=bearer(admin)).status_code == 409
    bad = {**body, "username": "x1", "role": "station"}
    assert client.post("/api/v1/users", json=bad, headers=bearer(admin)).status_code == 422
    add_operators(client, admin, "E7")
    r = client.post("/api/v1/operators", json={"badge": "E7", "name": "X"}, headers=bearer(admin))
    assert r.status_code == 409


def test_matrix_rules_the_plant_depends_on() -> None:
    # operators work through their station: it cannot correct events or release holds
    assert not allowed(Role.STATION, Permission.CORRECT)
    assert not allowed(Role.STATION, Permission.HOLD_RELEASE)
    assert allowed(Role.SUPERVISOR, Permission.CORRECT)
    assert allowed(Role.QUALITY, Permission.HOLD_RELEASE)
    assert not allowed(Role.SUPERVISOR, Permission.HOLD_RELEASE)
    # every role but the TV wall's display token can read; the display reads the board only
    assert all(Permission.READ in p for r, p in MATRIX.items() if r is not Role.DISPLAY)
    assert MATRIX[Role.DISPLAY] == frozenset({Permission.BOARD_READ})
    # the owner reads everything and changes nothing
    assert MATRIX[Role.OWNER] == frozenset(
        {Permission.READ, Permission.BOARD_READ, Permission.AUDIT_READ}
    )
    managers = {r for r in Role if allowed(r, Permission.MANAGE_USERS)}
    assert managers == {Role.ADMIN}
    table = matrix_markdown()
    assert table.count("\n") == len(Permission) + 1


def test_role_matrix_in_docs_is_current() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "mes-api.md"
    assert matrix_markdown() in doc.read_text(encoding="utf-8")


def test_deactivated_badge_is_logged_out_and_refused(app: tuple) -> None:
    client, _ = app
    admin = admin_token(client)
    station = enrol(client, admin, "ws-20")
    add_operators(client, admin, "E88")
    r = scan(client, station, "ws-20", "EMP:E88")
    assert "E88" in [o["badge"] for o in r.json()["station_state"]["operators"]]
    assert client.delete("/api/v1/operators/E88", headers=bearer(admin)).status_code == 204
    state = client.get("/api/v1/stations/ws-20/state", headers=bearer(station)).json()
    assert "E88" not in [o["badge"] for o in state["operators"]]
    later = (datetime.now(UTC) + timedelta(seconds=5)).isoformat()  # past the debounce
    r = scan(client, station, "ws-20", "EMP:E88", scanned_at=later)
    assert r.json()["error"]["code"] == "UNKNOWN_OPERATOR"
    assert client.delete("/api/v1/operators/E88", headers=bearer(station)).status_code == 403
