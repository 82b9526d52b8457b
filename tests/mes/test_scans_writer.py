"""The group-commit writer on a real database: one batch, per-request savepoints."""

import threading
import time
import uuid
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mes.auth import service
from mes.auth.roles import Principal, Role
from mes.core.db import make_engine
from mes.masterdata.sync import sync_master_data
from mes.migrations.run import upgrade_head
from mes.reporting.grammar import parse_scan
from mes.reporting.handler import Answer, EventIdReused, StationRequest
from mes.reporting.models import ScanRecord, StationLogin
from mes.wiring import scan_writer, station_handler
from tests.mes.scan_harness import multi_station_plant
from tests.services.ports import wait_for


def prepared(url: str, stations: int = 3) -> Engine:
    """A migrated database with `stations` work-centre stations and operator E1."""
    cfg = multi_station_plant(url, "mqtt://127.0.0.1:1", stations)
    engine = make_engine(cfg.database.url)
    upgrade_head(engine)
    with Session(engine) as s:
        sync_master_data(s, cfg)
        service.add_operator(s, "E1", "Ana")
        s.commit()
    return engine


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return prepared(f"sqlite:///{tmp_path}/mes.db")


def request(station: str, code: str, event_id: str | None = None) -> StationRequest:
    return StationRequest(
        station=station,
        event_id=event_id or str(uuid.uuid4()),
        action=parse_scan(code),
        code=code,
        actor=Principal("station", station, Role.STATION, station),
        scanned_at=datetime.now(UTC),
    )


def test_one_batch_refusal_does_not_undo_its_neighbours(engine: Engine) -> None:
    writer = scan_writer(engine, station_handler(2.0))
    batch = [
        (request("ws-01", "EMP:E1"), Future()),
        (request("ws-02", "EMP:NOBODY"), Future()),  # refused inside the batch
        (request("ws-03", "EMP:E1"), Future()),
    ]
    writer._process(batch)  # type: ignore[arg-type]
    answers: list[Answer] = [f.result(0) for _, f in batch]
    assert [a.status for a in answers] == [200, 422, 200]
    assert writer.batches == 1
    with Session(engine) as s:
        logins = s.exec(select(StationLogin.station).order_by(col(StationLogin.station))).all()
        logged = s.exec(select(ScanRecord.code).order_by(col(ScanRecord.id))).all()
    assert logins == ["ws-01", "ws-03"]
    assert logged == ["EMP:E1", "EMP:NOBODY", "EMP:E1"]


def test_same_event_twice_in_one_batch(engine: Engine) -> None:
    writer = scan_writer(engine, station_handler(0.0))
    first = request("ws-01", "EMP:E1", "ev-1")
    batch = [
        (first, Future()),
        (first, Future()),  # the tablet retried before the first answer came
        (request("ws-02", "EMP:E1", "ev-1"), Future()),  # same id, other station
    ]
    writer._process(batch)  # type: ignore[arg-type]
    a, b = batch[0][1].result(0), batch[1][1].result(0)
    assert a == b
    with pytest.raises(EventIdReused):
        batch[2][1].result(0)
    with Session(engine) as s:
        assert len(s.exec(select(StationLogin)).all()) == 1


def test_a_caller_that_went_away_does_not_stop_the_writer(engine: Engine) -> None:
    writer = scan_writer(engine, station_handler(2.0))
    writer.start()
    try:
        gone: Future[Answer] = Future()
        gone.cancel()
        writer._queues[0].put((request("ws-01", "EMP:E1", "ev-gone"), gone))
        # the writer is still alive and serves the next request; the first one was committed
        answer = writer.submit(request("ws-02", "EMP:E1")).result(10)
        assert answer.status == 200
        again = writer.submit(request("ws-01", "EMP:E1", "ev-gone")).result(10)
        assert again.body["action"] == "operator.login"
    finally:
        writer.stop()
    assert writer.submit(request("ws-03", "EMP:E1")).exception(0) is not None


def test_a_lost_database_connection_costs_no_scan(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The writer keeps its connection between batches: when the server drops it (a restart,
    a failover), the next batch fails, is retried on a new connection, and every scan is
    stored and answered."""
    engine = prepared(postgres_url)
    writer = scan_writer(engine, station_handler(0.0))
    first = [(request("ws-01", "EMP:E1"), Future())]
    writer._process(first)  # type: ignore[arg-type]
    assert first[0][1].result(0).status == 200
    with engine.connect() as admin:
        killed = admin.exec_driver_sql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).scalar_one()
    assert killed >= 1  # the writer's own connection was among them
    batch = [(request(f"ws-0{i}", "EMP:E1"), Future()) for i in (2, 3)]
    writer._process(batch)  # type: ignore[arg-type]
    assert [f.result(0).status for _, f in batch] == [200, 200]
    assert "retrying one by one" in caplog.text  # the batch did meet the dead connection
    with Session(engine) as s:
        logins = s.exec(select(StationLogin.station).order_by(col(StationLogin.station))).all()
    assert logins == ["ws-01", "ws-02", "ws-03"]
    engine.dispose()


def test_under_load_the_writer_waits_for_the_rest_of_a_group(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pauses: list[float] = []  # the writer's pauses, seen as they are taken (not timed)
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        if threading.current_thread().name.startswith("scan-writer"):
            pauses.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    writer = scan_writer(engine, station_handler(0.0), group_delay_s=1.0)
    # queued before the writer starts: its first batch holds all three (load)
    for station in ("ws-01", "ws-02", "ws-03"):
        writer._queues[0].put((request(station, "EMP:E1"), Future()))
    writer.start()
    try:
        # one request arrives first; once the writer has taken it, two more arrive: the
        # writer paused for them, so they join its batch
        later = [writer.submit(request("ws-01", "CMD:LOGOUT"))]
        wait_for(lambda: writer._queues[0].qsize() == 0, what="the writer takes the request")
        later += [writer.submit(request(f"ws-0{i}", "CMD:LOGOUT")) for i in (2, 3)]
        assert [f.result(10).status for f in later] == [200, 200, 200]
        assert (writer.batches, writer.requests) == (2, 6)
        assert pauses == [1.0]  # before the second batch only
        # a lone request after a group is held back once; after a lone batch it is not
        writer.submit(request("ws-01", "EMP:E1")).result(10)
        assert pauses == [1.0, 1.0]
        assert writer.submit(request("ws-02", "EMP:E1")).result(10).status == 200
        assert pauses == [1.0, 1.0]
    finally:
        writer.stop()
