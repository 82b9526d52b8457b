"""Issue 13 end to end with real parts: the simulated press (Modbus TCP) changes state -> the
real edge agent -> a real Mosquitto -> the MES's state consumer -> state intervals and
downtime events; reasons given through the API (station token, supervisor) and by an `RSN:`
scan; the KPI API (JSON and CSV) and `_mes/kpi` at a shift end (the supervisor ends the shift
seconds ahead with a calendar edit, whose `valid_from` is to the second: no waiting for a
whole-minute shift end)."""

import asyncio
import csv
import io
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlmodel import Session

from config.loader import parse_plant
from config.plant import PlantConfig
from edge.agent import EdgeAgent
from edge.drivers.modbus.driver import ModbusDriver
from mes.performance.models import WorkUnitCursor
from simulators.modbus.machine import ModbusSimulator
from simulators.modbus.testing import press_config, press_tags
from tests.mes.orders_support import release
from tests.mes.scan_harness import (
    add_operators,
    add_user,
    admin_token,
    bearer,
    enrol,
    running_app,
    scan,
)
from tests.northbound.helpers import Collector
from tests.services.mosquitto import Mosquitto
from tests.services.ports import free_port, wait_for
from uns.topics import Namespace

NS = Namespace("acme", "plant1")


SHIFT = "e2e"


def shift_around_now() -> dict[str, str]:
    """A shift (UTC) that started an hour ago and ends in two hours: the test's stops fall in
    it on any machine; the test ends it early."""
    now = datetime.now(UTC)
    start, end = now - timedelta(hours=1), now + timedelta(hours=2)
    return {"name": SHIFT, "start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}


def plant(plant_yaml: Path, tmp_path: Path, broker_url: str, port: int) -> PlantConfig:
    data: dict[str, Any] = yaml.safe_load(plant_yaml.read_text())
    data["broker"] = {"url": broker_url}
    data["database"] = {"url": f"sqlite:///{tmp_path}/mes.db"}
    data["mes"] = {"debounce_s": 0.0, "bootstrap_admin_password": "admin-secret-1"}
    data["edge"] = {
        "agent_id": "edge-e2e",
        "state_dir": str(tmp_path / "edge"),
        "queue": {"path": str(tmp_path / "edge-queue.sqlite")},
    }
    data["devices"] = [
        {
            "name": "press-01",
            "path": "stamping/line1/cell1",
            "driver": "modbus_tcp",
            "connection": {"host": "127.0.0.1", "port": port},
            "poll_interval_ms": 100,
            "timeout_ms": 300,
            "tags": press_tags(["state", "fault", "cycle_count"]),
        }
    ]
    data["alarms"] = []
    perf = data["performance"]
    perf["work_units"] = [dict(perf["work_units"][0], micro_stop_s=1.0, silence_timeout_s=30)]
    perf["calendars"] = [
        {"work_centre": "PRESS", "timezone": "UTC", "shifts": [shift_around_now()]}
    ]
    return parse_plant(data, "e2e", environ={})


class EdgeSide:
    """The simulated press and the edge agent, on their own event loop in a thread."""

    def __init__(self, cfg: PlantConfig, port: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.sim = ModbusSimulator([press_config(port)])
        self.agent = EdgeAgent(cfg, driver_factory=ModbusDriver)
        self.stop_event: asyncio.Event | None = None
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.sim.start(), self.loop).result(20)
        self.task = asyncio.run_coroutine_threadsafe(self._run_agent(), self.loop)
        wait_for(lambda: self.agent.started.is_set() or self.task.done(), 60, "agent started")
        if self.task.done():
            self.task.result()

    async def _run_agent(self) -> None:
        self.stop_event = asyncio.Event()
        await self.agent.run(self.stop_event)

    def fire(self, event: str) -> None:
        press = self.sim.machine("press-01").press
        self.loop.call_soon_threadsafe(press.fire, event)

    def close(self) -> None:
        if self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.task.result(20)
        asyncio.run_coroutine_threadsafe(self.sim.close(), self.loop).result(20)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def broker(mosquitto_factory: Callable[..., Mosquitto]) -> Mosquitto:
    return mosquitto_factory().start()


@pytest.fixture
def edge_and_mes(
    broker: Mosquitto, plant_yaml: Path, tmp_path: Path
) -> Iterator[tuple[EdgeSide, TestClient, Any, PlantConfig]]:
    port = free_port()
    cfg = plant(plant_yaml, tmp_path, broker.url, port)
    with running_app(cfg) as (client, engine):
        consumer = client.app.state.services.performance.consumer  # type: ignore[attr-defined]
        wait_for(consumer.subscribed.is_set, 30, "state consumer subscribed")
        edge = EdgeSide(cfg, port)
        try:
            yield edge, client, engine, cfg
        finally:
            edge.close()


def test_press_states_to_downtime_reasons_to_kpis(
    edge_and_mes: tuple[EdgeSide, TestClient, Any, PlantConfig], broker: Mosquitto
) -> None:
    edge, client, engine, cfg = edge_and_mes
    t0 = datetime.now(UTC) - timedelta(minutes=1)
    admin = admin_token(client)
    add_operators(client, admin, "E1")
    add_user(engine, "boss", "supervisor", "boss-password-1")
    r = client.post("/api/v1/auth/login", json={"username": "boss", "password": "boss-password-1"})
    boss = bearer(r.json()["access_token"])
    ws10, ws20 = enrol(client, admin, "ws-10"), enrol(client, admin, "ws-20")
    kpi_messages = Collector(broker.url, NS.kpi, client_id="e2e-kpi")
    wo = release(engine, quantity=50)
    for code in ("EMP:E1", f"WO:{wo}/0010", "CMD:START"):
        assert scan(client, ws10, "ws-10", code).status_code == 200

    def downtime() -> list[dict[str, Any]]:
        now = datetime.now(UTC) + timedelta(minutes=1)
        r = client.get(
            "/api/v1/performance/downtime",
            params={"work_unit": "ws-10", "start": t0.isoformat(), "end": now.isoformat()},
            headers=boss,
        )
        assert r.status_code == 200, r.text
        return list(r.json())

    def states() -> list[str]:
        now = datetime.now(UTC) + timedelta(minutes=1)
        r = client.get(
            "/api/v1/performance/intervals",
            params={"work_unit": "ws-10", "start": t0.isoformat(), "end": now.isoformat()},
            headers=boss,
        )
        return [row["state"] for row in r.json()]

    def now_in() -> str | None:
        with Session(engine) as session:
            cursor = session.get(WorkUnitCursor, "ws-10")
            return cursor.open_state if cursor else None

    wait_for(lambda: now_in() not in (None, "unknown"), 60, "the press heard")
    if now_in() != "running":  # the simulated press starts running
        edge.fire("start")
    wait_for(lambda: now_in() == "running", 60, "the press running in the MES")
    assert scan(client, ws10, "ws-10", "QTY:5").status_code == 200
    edge.fire("trip")
    wait_for(lambda: "running" in states(), 60, "the running interval closed by the trip")
    wait_for(lambda: [e for e in downtime() if e["state"] == "fault"], 60, "fault event open")
    edge.fire("reset")
    wait_for(lambda: "fault" in states(), 60, "the fault interval closed")
    (fault,) = [e for e in downtime() if e["state"] == "fault"]
    assert fault["end"] is not None
    assert fault["reason"] is None

    # the operator gives the reason from the station; another station may not
    url = f"/api/v1/performance/downtime/{fault['id']}/reason"
    r = client.post(url, json={"reason": "DIE"}, headers=bearer(ws20))
    assert r.status_code == 403, r.text
    r = client.post(url, json={"reason": "NOPE"}, headers=bearer(ws10))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    r = client.post(url, json={"reason": "DIE"}, headers=bearer(ws10))
    assert r.status_code == 200, r.text
    assert r.json()["reason"] == "DIE"
    # once given, only a supervisor changes it (audited)
    assert client.post(url, json={"reason": "HYD"}, headers=bearer(ws10)).status_code == 403
    r = client.post(url, json={"reason": "HYD"}, headers=boss)
    assert r.status_code == 200, r.text
    assert (r.json()["reason"], r.json()["reason_by"]) == ("HYD", "user:boss")

    # idle with the job running: a stop; the operator scans the reason
    wait_for(lambda: [e for e in downtime() if e["state"] == "idle"], 60, "idle event open")
    r = scan(client, ws10, "ws-10", "RSN:NOMAT")
    assert r.status_code == 200, r.text
    assert "given to the stop" in r.json()["message"]
    (idle,) = [e for e in downtime() if e["state"] == "idle"]
    assert idle["reason"] == "NOMAT"
    edge.fire("start")
    wait_for(lambda: states()[-1:] == ["idle"], 60, "the idle interval closed")

    # the KPI API: times and ratios, JSON and CSV
    params = {
        "scope": "work_unit",
        "name": "ws-10",
        "start": t0.isoformat(),
        "end": (datetime.now(UTC) + timedelta(seconds=1)).isoformat(),
    }
    r = client.get("/api/v1/performance/kpi", params=params, headers=boss)
    assert r.status_code == 200, r.text
    (row,) = r.json()["rows"]
    times = row["times"]
    assert times["apt_s"] > 0
    assert times["adet_fault_s"] > 0
    assert times["adet_idle_s"] > 0
    assert times["failures"] == 1
    assert times["produced"] == 5
    assert times["ideal_time_s"] == pytest.approx(5 * 2.5)
    assert 0 < row["kpis"]["availability"] < 1
    r = client.get("/api/v1/performance/kpi", params={**params, "format": "csv"}, headers=boss)
    assert r.headers["content-type"].startswith("text/csv")
    (line,) = list(csv.DictReader(io.StringIO(r.text)))
    assert float(line["apt_s"]) == pytest.approx(times["apt_s"], abs=1.0)

    # the shift runs on for two hours: nothing to close yet
    performance = client.app.state.services.performance  # type: ignore[attr-defined]
    assert performance.close_periods() == 0
    # the shift ends: a supervisor ends it a few seconds ahead (a calendar version from then on
    # in which today's shift has ended: the running shift is cut where the version starts),
    # and one `_mes/kpi` for the press follows (through the outbox)
    shift_end = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
    (shift,) = cfg.performance.calendars[0].shifts
    shortened = {"name": SHIFT, "start": shift.start, "end": f"{shift_end:%H:%M}"}
    edit = {"work_centre": "PRESS", "timezone": "UTC", "shifts": [shortened]}
    r = client.post(
        "/api/v1/performance/calendars",
        json={**edit, "valid_from": shift_end.isoformat()},
        headers=boss,
    )
    assert r.status_code == 200, r.text
    wait_for(lambda: datetime.now(UTC) > shift_end, 10, "shift end")
    wait_for(lambda: performance.close_periods() or kpi_messages.messages, 30, "periods closed")
    wait_for(lambda: kpi_messages.messages, 60, "_mes/kpi published")
    body = orjson.loads(kpi_messages.messages[0][1])
    assert (body["work_unit"], body["shift"], body["end_at"]) == (
        "ws-10",
        SHIFT,
        shift_end.isoformat(),
    )
    assert body["times"]["adet_fault_s"] == pytest.approx(times["adet_fault_s"], abs=0.5)
    assert body["kpis"]["availability"] is not None
