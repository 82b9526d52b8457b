"""The login backoff is kept in the database: MES replicas on one database count the same
failures, a restart keeps the locks, concurrent failures lose no count, old and surplus rows
are pruned, and a database failure falls back to the process's own counts (never a 500)."""

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from config.security import LoginThrottle as Settings
from mes.auth.models import LoginFailure
from mes.auth.throttle import Failures, after_failure, current, wait
from mes.auth.throttle_store import SharedLoginThrottle
from mes.core.db import make_engine
from mes.migrations.run import alembic_config, upgrade_head
from tests.mes.orders_support import empty_db_url  # noqa: F401
from tests.mes.scan_harness import add_user, plant_config, running_app
from tests.services.mosquitto import Mosquitto

LOGIN = {"free_failures_per_user": 3, "free_failures_per_address": 50, "base_delay_s": 60}
SETTINGS = Settings(free_failures_per_user=2, base_delay_s=1, max_delay_s=8, forget_after_s=100)


def login(client: TestClient, user: str, password: str) -> Any:
    return client.post("/api/v1/auth/login", json={"username": user, "password": password})


@pytest.fixture
def engines(empty_db_url: str) -> Iterator[tuple[Engine, Engine]]:  # noqa: F811
    """Two replicas' engines on one migrated database (SQLite file, then PostgreSQL)."""
    first, second = make_engine(empty_db_url), make_engine(empty_db_url)
    upgrade_head(first)
    yield first, second
    first.dispose()
    second.dispose()


def rows(engine: Engine) -> dict[tuple[str, str], int]:
    with Session(engine) as s:
        return {(r.kind, r.key): r.count for r in s.exec(select(LoginFailure)).all()}


def test_the_arithmetic_over_one_record() -> None:
    first = after_failure(None, "user", 10.0, SETTINGS)
    assert first == Failures(1, 10.0, 10.0)
    second = after_failure(first, "user", 11.0, SETTINGS)
    assert wait(second, 11.0, SETTINGS) == 0  # two free failures
    third = after_failure(second, "user", 12.0, SETTINGS)
    assert third == Failures(3, 12.0, 13.0)
    assert wait(third, 12.5, SETTINGS) == 0.5
    assert after_failure(third, "user", 12.5, SETTINGS).locked_until == 14.5  # doubled
    assert after_failure(third, "address", 12.5, SETTINGS).locked_until == 13.0  # 20 free
    assert current(third, 112.0, SETTINGS) is third
    assert current(third, 112.1, SETTINGS) is None  # forgotten: counting starts again
    assert after_failure(third, "user", 112.1, SETTINGS).count == 1


def test_replicas_share_the_counts_and_a_restart_keeps_the_lock(
    engines: tuple[Engine, Engine],
) -> None:
    now = [1_000_000.0]
    one = SharedLoginThrottle(SETTINGS, engines[0], clock=lambda: now[0])
    two = SharedLoginThrottle(SETTINGS, engines[1], clock=lambda: now[0])
    one.failed("boss", "10.0.0.1")
    two.failed("boss", "10.0.0.2")
    assert one.retry_after("boss", "10.0.0.9") == 0
    two.failed("boss", "10.0.0.2")  # the third failure of the name, over two replicas
    assert one.retry_after("boss", "10.0.0.9") == 1  # locked on the replica that never saw it
    one.failed("boss", "10.0.0.1")
    assert two.retry_after("boss", "10.0.0.9") == 2
    restarted = SharedLoginThrottle(SETTINGS, make_engine(str(engines[0].url)), lambda: now[0])
    assert restarted.retry_after("boss", "10.0.0.9") == 2
    assert rows(engines[1])[("user", "boss")] == 4
    assert rows(engines[1])[("address", "10.0.0.2")] == 2
    now[0] += 2
    assert restarted.retry_after("boss", "10.0.0.9") == 0
    restarted.succeeded("boss")  # clears the name everywhere, not the addresses
    assert ("user", "boss") not in rows(engines[0])
    assert ("address", "10.0.0.1") in rows(engines[0])
    one.failed("boss", "10.0.0.1")
    assert two.retry_after("boss", "10.0.0.9") == 0


def test_old_rows_are_forgotten_and_pruned_and_a_flood_stays_bounded(
    engines: tuple[Engine, Engine],
) -> None:
    now = [1_000_000.0]
    throttle = SharedLoginThrottle(SETTINGS, engines[0], clock=lambda: now[0], max_keys=6)
    for _ in range(3):
        throttle.failed("boss", "10.0.0.1")
    assert throttle.fallback.retry_after("boss", "x") > 0
    fresh = SharedLoginThrottle(SETTINGS, engines[1], clock=lambda: now[0], max_keys=6)
    now[0] += 101  # past forget_after_s
    throttle.failed("boss", "10.0.0.1")
    assert rows(engines[0])[("user", "boss")] == 1  # the old ones no longer count
    for i in range(5):  # invented names: the stalest rows go past max_keys
        now[0] += 1
        fresh.failed(f"nobody{i}", "10.0.0.2")
    kept = rows(engines[0])
    assert len(kept) <= 6
    assert ("user", "nobody4") in kept
    assert ("address", "10.0.0.2") in kept
    assert ("user", "boss") not in kept  # the stalest
    now[0] += 101
    fresh.failed("late", "10.0.0.3")
    assert set(rows(engines[0])) == {("user", "late"), ("address", "10.0.0.3")}


def test_concurrent_failures_lose_no_count(engines: tuple[Engine, Engine]) -> None:
    """Threads on two replicas' engines fail one name at once (PostgreSQL: the row lock;
    SQLite: the first write of a failure takes the database's write lock)."""
    throttles = [SharedLoginThrottle(SETTINGS, e) for e in engines]
    threads, per_thread = 8, 10
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def fail(n: int) -> None:
        try:
            start.wait(10)
            for _ in range(per_thread):
                throttles[n % 2].failed("boss", f"10.0.0.{n % 3}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=fail, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert errors == []
    counts = rows(engines[0])
    assert counts[("user", "boss")] == threads * per_thread
    assert sum(c for (kind, _), c in counts.items() if kind == "address") == threads * per_thread


def test_a_database_failure_falls_back_to_this_process(
    engines: tuple[Engine, Engine], caplog: pytest.LogCaptureFixture
) -> None:
    now = [1_000_000.0]
    throttle = SharedLoginThrottle(SETTINGS, engines[0], clock=lambda: now[0])
    throttle.failed("boss", "10.0.0.1")
    with engines[0].begin() as conn:
        conn.execute(text("DROP TABLE login_failure"))
    with caplog.at_level(logging.ERROR, logger="mes.auth.throttle_store"):
        throttle.failed("boss", "10.0.0.1")
        throttle.failed("boss", "10.0.0.1")
        assert throttle.retry_after("boss", "10.0.0.1") == 1  # this process's three
        throttle.succeeded("boss")
        assert throttle.retry_after("boss", "10.0.0.1") == 0
    assert "using this process's counts" in caplog.text
    assert "counted in this process only" in caplog.text


@pytest.fixture
def two_apps(
    empty_db_url: str,  # noqa: F811
    mosquitto: Mosquitto,
) -> Iterator[tuple[TestClient, TestClient, Engine, Any]]:
    cfg = plant_config(empty_db_url, mosquitto.url, security={"login": LOGIN})
    with running_app(cfg) as (one, engine), running_app(cfg) as (two, _):
        yield one, two, engine, cfg


def test_two_mes_replicas_share_the_backoff_and_a_restart_keeps_it(two_apps: tuple) -> None:
    one, two, engine, cfg = two_apps
    add_user(engine, "boss", "supervisor", "boss-password-1")
    assert login(one, "boss", "guess-guess").status_code == 401
    assert login(two, "boss", "guess-guess").status_code == 401
    assert login(one, "boss", "guess-guess").status_code == 401
    assert login(two, "boss", "guess-guess").status_code == 401  # the 4th: locked 60 s
    r = login(one, "boss", "boss-password-1")
    assert r.status_code == 429
    assert 55 <= int(r.headers["retry-after"]) <= 60
    with running_app(cfg) as (restarted, _):
        assert login(restarted, "boss", "boss-password-1").status_code == 429


def test_a_lost_table_still_throttles_and_never_answers_500(two_apps: tuple) -> None:
    one, _, engine, _ = two_apps
    add_user(engine, "boss", "supervisor", "boss-password-1")
    assert login(one, "boss", "boss-password-1").status_code == 200
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE login_failure"))
    for _ in range(4):
        assert login(one, "boss", "guess-guess").status_code == 401
    assert login(one, "boss", "boss-password-1").status_code == 429


def test_the_migration_upgrades_and_downgrades(empty_db_url: str) -> None:  # noqa: F811
    engine = make_engine(empty_db_url)
    try:
        upgrade_head(engine)
        with engine.connect() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0006_delivery_split")
            conn.commit()
            assert "login_failure" not in inspect(conn).get_table_names()
            assert "dashboard_delivery_split" in inspect(conn).get_table_names()
        upgrade_head(engine)
        with engine.connect() as conn:
            assert "login_failure" in inspect(conn).get_table_names()
            names = {i["name"] for i in inspect(conn).get_indexes("login_failure")}
            assert "ix_login_failure_last_at" in names
        with Session(engine) as s:
            assert s.exec(select(col(LoginFailure.kind))).all() == []
    finally:
        engine.dispose()
