"""Issue 18 items 3, 8 and 10 over real HTTP on a real database: throttled and audited logins,
the password policy, token expiry/list/revoke/rotate, deactivation and password reset, operator
PINs and who may list badges."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from config.security import LoginThrottle as Settings
from mes.auth.pins import hash_pin, verify_pin
from mes.auth.policy import WeakPassword, check_password
from mes.auth.throttle import LoginThrottle
from mes.core.audit import AuditEntry
from mes.reporting.models import ScanRecord
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

LOGIN = {"free_failures_per_user": 3, "free_failures_per_address": 8, "base_delay_s": 60}


@pytest.fixture
def app(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[tuple[TestClient, Engine]]:
    cfg = plant_config(
        f"sqlite:///{tmp_path}/mes.db",
        mosquitto.url,
        security={"login": LOGIN, "station_token_days": 30, "service_token_days": 7},
    )
    with running_app(cfg) as pair:
        yield pair


def login(client: TestClient, user: str, password: str) -> Any:
    return client.post("/api/v1/auth/login", json={"username": user, "password": password})


def test_failed_logins_back_off_with_429_and_are_audited(app: tuple) -> None:
    client, engine = app
    add_user(engine, "boss", "supervisor", "boss-password-1")
    for _ in range(3):
        assert login(client, "boss", "guess-guess").status_code == 401
    r = login(client, "boss", "guess-guess")  # the 4th failure locks the name for 60 s
    assert r.status_code == 401
    r = login(client, "boss", "boss-password-1")  # even the right password waits now
    assert r.status_code == 429
    assert r.headers["content-type"] == "application/problem+json"
    assert 55 <= int(r.headers["retry-after"]) <= 60
    assert r.json()["code"] == "TOO_MANY_REQUESTS"
    with Session(engine) as s:
        failed = s.exec(select(AuditEntry).where(AuditEntry.action == "auth.login_failed")).all()
    assert len(failed) == 4  # the 429s did not even check a password
    assert {e.target for e in failed} == {"user:boss"}
    assert all("guess" not in (e.detail_json or "") for e in failed)
    # the address is throttled too, across user names
    for i in range(5):  # 4 + 5 failures from this address: one over its 8 free ones
        assert login(client, f"nobody{i}", "whatever-1").status_code == 401
    assert login(client, "someone-else", "whatever-1").status_code == 429


def test_backoff_doubles_and_expires() -> None:
    now = [0.0]
    t = LoginThrottle(
        Settings(free_failures_per_user=2, base_delay_s=1, max_delay_s=8), lambda: now[0]
    )
    for _ in range(2):
        t.failed("u", "a1")
    assert t.retry_after("u", "a1") == 0
    waits = []
    for _ in range(5):
        t.failed("u", "a1")
        waits.append(t.retry_after("u", "a2"))  # per user, from any address
    assert waits == [1, 2, 4, 8, 8]
    now[0] += 8
    assert t.retry_after("u", "a2") == 0
    t.succeeded("u")
    t.failed("u", "a3")
    assert t.retry_after("u", "a3") == 0


def test_common_and_short_passwords_are_refused(app: tuple) -> None:
    client, _ = app
    admin = bearer(admin_token(client))
    for pw, why in (
        ("password", "at least 10"),
        ("12345678", "at least 10"),
        ("1234567890", "most common"),
        ("Password123", "most common"),
        ("qa-person-7", "user name"),
    ):
        body = {"username": "qa-person-7", "role": "quality", "password": pw}
        r = client.post("/api/v1/users", json=body, headers=admin)
        assert r.status_code == 422, (pw, r.text)
        assert why in r.json()["detail"]
        assert pw == "password" or pw not in r.json()["detail"]
    body = {"username": "qa-person-7", "role": "quality", "password": "blue-tractor-42"}
    assert client.post("/api/v1/users", json=body, headers=admin).status_code == 201
    with pytest.raises(WeakPassword):
        check_password("aaaaaaaaaaaa", 10)


def test_station_and_service_tokens_expire_and_can_be_listed_revoked_rotated(app: tuple) -> None:
    client, engine = app
    admin = bearer(admin_token(client))
    r = client.post("/api/v1/tokens", json={"name": "erp-main", "role": "erp"}, headers=admin)
    erp = r.json()
    expires = datetime.fromisoformat(erp["expires_at"])
    assert timedelta(days=6.9) < expires - datetime.now(UTC) <= timedelta(days=7)
    r = client.post("/api/v1/stations/ws-10/enrol", headers=admin)
    station = r.json()
    assert timedelta(days=29.9) < datetime.fromisoformat(station["expires_at"]) - datetime.now(UTC)
    listed = client.get("/api/v1/tokens", params={"kind": "service"}, headers=admin).json()
    assert [(t["token_id"], t["subject"]) for t in listed] == [(erp["token_id"], "erp-main")]
    assert all("access_token" not in t for t in listed)
    # rotation with a grace: both work until the grace ends
    r = client.post(
        f"/api/v1/tokens/{erp['token_id']}/rotate", json={"grace_minutes": 10}, headers=admin
    )
    assert r.status_code == 201, r.text
    new = r.json()
    assert (new["subject"], new["role"]) == ("erp-main", "erp")
    for token in (erp["access_token"], new["access_token"]):
        assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200
    r = client.delete(f"/api/v1/tokens/{erp['token_id']}", headers=admin)
    assert r.status_code == 204
    assert client.get("/api/v1/auth/me", headers=bearer(erp["access_token"])).status_code == 401
    assert client.get("/api/v1/auth/me", headers=bearer(new["access_token"])).status_code == 200
    # rotation without a grace ends the old station token at once
    r = client.post(f"/api/v1/tokens/{station['token_id']}/rotate", json={}, headers=admin)
    assert client.get("/api/v1/auth/me", headers=bearer(station["access_token"])).status_code == 401
    assert (
        client.get("/api/v1/auth/me", headers=bearer(r.json()["access_token"])).json()["station"]
        == "ws-10"
    )
    assert client.delete("/api/v1/tokens/0123456789abcdef", headers=admin).status_code == 404
    # an expired token stops working
    from mes.auth.models import ApiToken

    with Session(engine) as s:
        row = s.exec(
            select(ApiToken).where(col(ApiToken.token_hash).startswith(new["token_id"]))
        ).one()
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        s.add(row)
        s.commit()
    client.app.state.services.auth.forget_all()  # type: ignore[attr-defined]
    r = client.get("/api/v1/auth/me", headers=bearer(new["access_token"]))
    assert r.status_code == 401
    assert "expired" in r.json()["detail"]


def test_deactivating_a_user_ends_their_sessions_and_reset_sets_a_new_password(
    app: tuple,
) -> None:
    client, engine = app
    admin = bearer(admin_token(client))
    add_user(engine, "qa", "quality", "qa-password-1")
    qa = bearer(login(client, "qa", "qa-password-1").json()["access_token"])
    assert client.get("/api/v1/auth/me", headers=qa).status_code == 200
    assert client.delete("/api/v1/users/qa", headers=qa).status_code == 403
    assert client.delete("/api/v1/users/qa", headers=admin).status_code == 204
    assert client.get("/api/v1/auth/me", headers=qa).status_code == 401
    assert login(client, "qa", "qa-password-1").status_code == 401
    r = client.post("/api/v1/users/qa/password", json={"password": "password"}, headers=admin)
    assert r.status_code == 422
    r = client.post("/api/v1/users/qa/password", json={"password": "green-ladder-9"}, headers=admin)
    assert r.status_code == 204
    assert login(client, "qa", "qa-password-1").status_code == 401
    assert login(client, "qa", "green-ladder-9").status_code == 200
    assert client.delete("/api/v1/users/ghost", headers=admin).status_code == 404


def test_operator_pin_is_needed_at_badge_login_and_badges_are_listed_to_supervisors_only(
    app: tuple,
) -> None:
    client, engine = app
    admin = bearer(admin_token(client))
    ws10 = enrol(client, admin["Authorization"][7:], "ws-10")
    add_operators(client, admin["Authorization"][7:], "E1", "E2")
    assert (
        client.put("/api/v1/operators/E1/pin", json={"pin": "12ab"}, headers=admin).status_code
        == 422
    )
    assert (
        client.put("/api/v1/operators/E1/pin", json={"pin": "4711"}, headers=admin).status_code
        == 204
    )
    assert (
        client.put(
            "/api/v1/operators/E1/pin", json={"pin": "4711"}, headers=bearer(ws10)
        ).status_code
        == 403
    )
    r = scan(client, ws10, "ws-10", "EMP:E1")
    assert (r.status_code, r.json()["error"]["code"]) == (422, "PIN_REQUIRED")
    r = scan(client, ws10, "ws-10", "EMP:E1:1234")
    assert r.json()["error"]["code"] == "WRONG_PIN"
    r = scan(client, ws10, "ws-10", "EMP:E1:4711")
    assert r.status_code == 200, r.text
    assert r.json()["action"] == "operator.login"
    assert scan(client, ws10, "ws-10", "EMP:E2").status_code == 200  # no PIN set: as before
    button = "/api/v1/stations/ws-10/operators/login"
    r = client.post(button, json={"badge": "E1"}, headers=bearer(ws10))
    assert r.json()["error"]["code"] == "PIN_REQUIRED"  # the tablet button asks for it too
    r = client.post(button, json={"badge": "E1", "pin": "4711"}, headers=bearer(ws10))
    assert r.status_code == 200
    with Session(engine) as s:
        codes = [r.code for r in s.exec(select(ScanRecord))]
    assert "EMP:E1:****" in codes
    assert not any("4711" in c or "1234" in c for c in codes)
    # only supervisors and admins see the badges
    add_user(engine, "boss", "supervisor", "boss-password-1")
    add_user(engine, "qa", "quality", "qa-password-1")
    sup = bearer(login(client, "boss", "boss-password-1").json()["access_token"])
    qa = bearer(login(client, "qa", "qa-password-1").json()["access_token"])
    for token in (bearer(ws10), qa):
        assert client.get("/api/v1/operators", headers=token).status_code == 403
    ops = client.get("/api/v1/operators", headers=sup).json()
    assert [(o["badge"], o["has_pin"]) for o in ops] == [("E1", True), ("E2", False)]


def test_wrong_pins_lock_the_badge() -> None:
    from mes.auth.pins import LOCKOUT, PinRefused, check_operator_pin

    stored = hash_pin("2468")
    assert verify_pin("2468", stored)
    assert not verify_pin("2469", stored)
    for _ in range(5):
        with pytest.raises(PinRefused, match="Wrong PIN"):
            check_operator_pin("E-LOCK", stored, "0000")
    with pytest.raises(PinRefused, match="Wrong PIN"):
        check_operator_pin("E-LOCK", stored, "0000")  # the 6th wrong one locks
    with pytest.raises(PinRefused) as refused:
        check_operator_pin("E-LOCK", stored, "2468")
    assert refused.value.code == "PIN_LOCKED"
    LOCKOUT.succeeded("E-LOCK")


async def test_login_work_waits_for_its_own_threads_and_overflow_is_busy() -> None:
    """Password checks run on `hash_workers` threads; more than `hash_queue` waiting: busy."""
    import asyncio
    import threading

    from mes.auth.gate import LoginBusy, LoginGate

    gate = LoginGate(Settings(hash_workers=1, hash_queue=2))
    release = threading.Event()
    names: list[str] = []

    def work() -> str:
        names.append(threading.current_thread().name)
        release.wait(10)
        return "checked"

    first = asyncio.create_task(gate.run(work))
    second = asyncio.create_task(gate.run(work))

    async def both_queued() -> None:
        while gate.waiting < 2:
            await asyncio.sleep(0.01)  # polling interval of the wait, not synchronisation

    await asyncio.wait_for(both_queued(), 5)  # the first running, the second waiting
    with pytest.raises(LoginBusy):
        await gate.run(work)
    release.set()
    assert await asyncio.gather(first, second) == ["checked", "checked"]
    assert set(names) == {names[0]}
    assert names[0].startswith("login")
    gate.close()
