"""Issue 6 item 7, end to end with real parts: a temperature excursion injected in the OPC UA
simulator goes through the edge agent (driver, pipeline, condition engine, durable queue) and a
real Mosquitto to the MES, which raises the alarm, holds the work order running at the oven and
publishes `_mes/alarms` and `_mes/holds`; a scan on the held work order is refused naming the
hold; the quality user releases it with a disposition; the next scan is accepted."""

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from fastapi.testclient import TestClient

from config.loader import parse_plant
from config.plant import PlantConfig
from edge.agent import EdgeAgent
from edge.drivers.opcua.driver import OpcUaDriver
from simulators.opcua.machine import OvenMachine
from simulators.opcua.testing import OVEN_TAGS, oven_config
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
ALARM = "oven-01.temperature.hh"


def plant(plant_yaml: Path, tmp_path: Path, broker_url: str, oven_port: int) -> PlantConfig:
    data: dict[str, Any] = yaml.safe_load(plant_yaml.read_text())
    data["broker"] = {"url": broker_url}
    data["database"] = {"url": f"sqlite:///{tmp_path}/mes.core.db"}
    data["mes"] = {"debounce_s": 0.0, "bootstrap_admin_password": "admin-secret-1"}
    data["edge"] = {
        "agent_id": "edge-e2e",
        "state_dir": str(tmp_path / "edge"),
        "queue": {"path": str(tmp_path / "edge-queue.sqlite")},
    }
    data["performance"].pop("work_units")  # they name the press, which is not here
    data["devices"] = [
        {
            "name": "oven-01",
            "path": "finishing/line1/oven1",
            "driver": "opcua",
            "endpoint": f"opc.tcp://127.0.0.1:{oven_port}/shopfloor/oven",
            "publishing_interval_ms": 50,
            "timeout_ms": 1000,
            "tags": OVEN_TAGS,
        }
    ]
    data["alarms"] = [
        {
            "device": "oven-01",
            "tag": "temperature",
            "kind": "limit",
            "level": "HH",
            "limit": 200,
            "deadband": 2,
            "priority": "critical",
            "workstation": "ws-20",
            "message": "oven temperature {value:.1f} {unit} above {limit:.0f}",
            "quality_action": {"reason": "oven temperature excursion", "window_before_s": 60},
        }
    ]
    return parse_plant(data, "e2e", environ={})


class EdgeSide:
    """The simulated oven and the edge agent, on their own event loop in a thread."""

    def __init__(self, cfg: PlantConfig, oven_port: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.oven = OvenMachine(
            oven_config(oven_port, oven={"start_c": 180.0, "setpoint_c": 180.0, "noise_c": 0.2})
        )
        # the real OPC UA driver (named directly: the driver registry may not be there yet)
        self.agent = EdgeAgent(cfg, driver_factory=OpcUaDriver)
        self.stop_event: asyncio.Event | None = None
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.call(self.oven.start())
        self.task = asyncio.run_coroutine_threadsafe(self._run_agent(), self.loop)
        wait_for(lambda: self.agent.started.is_set() or self.task.done(), 20, "agent started")
        if self.task.done():
            self.task.result()  # raises the agent's start error

    async def _run_agent(self) -> None:
        self.stop_event = asyncio.Event()
        await self.agent.run(self.stop_event)

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(20)

    def set_temperature(self, celsius: float) -> None:
        self.loop.call_soon_threadsafe(self.oven.set_temperature, celsius)

    def close(self) -> None:
        if self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.task.result(20)
        self.call(self.oven.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def broker(mosquitto_factory: Callable[..., Mosquitto]) -> Mosquitto:
    """A private broker: no retained statuses or queued sessions from other tests."""
    return mosquitto_factory().start()


@pytest.fixture
def edge_and_mes(
    broker: Mosquitto, plant_yaml: Path, tmp_path: Path
) -> Iterator[tuple[EdgeSide, TestClient, Any]]:
    port = free_port()
    cfg = plant(plant_yaml, tmp_path, broker.url, port)
    with running_app(cfg) as (client, engine):
        edge = EdgeSide(cfg, port)
        try:
            yield edge, client, engine
        finally:
            edge.close()


def alarms(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    return list(client.get("/api/v1/alarms", headers=headers).json())


def test_excursion_to_hold_to_refused_scan_to_release(
    edge_and_mes: tuple[EdgeSide, TestClient, Any], broker: Mosquitto
) -> None:
    edge, client, engine = edge_and_mes
    admin = admin_token(client)
    add_operators(client, admin, "E1", "E2")
    add_user(engine, "qa", "quality", "qa-password-1")
    r = client.post("/api/v1/auth/login", json={"username": "qa", "password": "qa-password-1"})
    qa = bearer(r.json()["access_token"])
    station = {ws: enrol(client, admin, ws) for ws in ("ws-10", "ws-20")}

    def ok(ws: str, code: str) -> dict[str, Any]:
        r = scan(client, station[ws], ws, code)
        assert r.status_code == 200, r.text
        return dict(r.json())

    col_alarms = Collector(broker.url, NS.alarms, client_id="e2e-alarms")
    col_holds = Collector(broker.url, NS.holds, client_id="e2e-holds")
    wo = release(engine, quantity=10)
    for code in ("EMP:E1", f"WO:{wo}/0010", "CMD:START", "QTY:5"):
        ok("ws-10", code)
    for code in ("EMP:E2", f"WO:{wo}/0020", "CMD:START", "QTY:2"):
        ok("ws-20", code)
    runtime = client.app.state.services.alarms  # type: ignore[attr-defined]
    wait_for(runtime.consumer.subscribed.is_set, 10, "MES alarm consumer subscribed")

    edge.set_temperature(231.5)  # the excursion
    wait_for(lambda: alarms(client, qa), 20, "the alarm in the MES")
    (alarm,) = alarms(client, qa)
    assert (alarm["alarm"], alarm["state"], alarm["priority"]) == (
        ALARM,
        "active_unacked",
        "critical",
    )
    assert alarm["message"].startswith("oven temperature 231.")
    holds = client.get("/api/v1/holds", headers=qa).json()
    # the work order running at the oven, and the lot it produced in the window
    assert sorted((h["target"]["kind"], h["reason"]) for h in holds) == [
        ("lot", "oven temperature excursion"),
        ("work_order", "oven temperature excursion"),
    ]
    wo_hold = next(h for h in holds if h["target"] == {"kind": "work_order", "id": wo})
    lot_hold = next(h for h in holds if h["target"]["kind"] == "lot")
    assert lot_hold["target"]["id"].startswith("BRKT-200-")
    hold_id = wo_hold["hold_id"]
    wait_for(
        lambda: col_alarms.messages and len(col_holds.messages) >= 2, 10, "_mes/alarms, _mes/holds"
    )
    raised = orjson.loads(col_alarms.messages[0][1])
    assert (raised["alarm"], raised["state"], raised["path"]) == (
        ALARM,
        "active_unacked",
        "finishing/line1/oven1/oven-01",
    )
    placed = [orjson.loads(m[1]) for m in col_holds.messages]
    assert {(p["action"], p["hold_id"]) for p in placed} == {
        ("placed", hold_id),
        ("placed", lot_hold["hold_id"]),
    }

    r = scan(client, station["ws-20"], "ws-20", "QTY:1")
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "WORK_ORDER_HELD"
    assert hold_id in error["message"]
    assert "oven temperature excursion" in error["message"]

    edge.set_temperature(180.0)  # back in band: the alarm returns to normal, unacknowledged
    wait_for(lambda: alarms(client, qa)[0]["state"] == "rtn_unacked", 20, "return to normal")
    r = client.post(
        f"/api/v1/holds/{hold_id}/release",
        json={"disposition": "use_as_is", "comment": "parts measured, in spec"},
        headers=qa,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["disposition"]) == ("released", "use_as_is")
    assert ok("ws-20", "QTY:1")["accepted"] is True
    wait_for(lambda: len(col_holds.messages) >= 3, 10, "the release on _mes/holds")
    released = orjson.loads(col_holds.messages[2][1])
    assert (released["action"], released["disposition"], released["by"]) == (
        "released",
        "use_as_is",
        "qa",
    )
    col_alarms.close()
    col_holds.close()
