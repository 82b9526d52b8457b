"""A plant on Sparkplug alone: the agent publishes only Sparkplug B (synthetic device, one
limit alarm), and the historian (embedded store) and the MES alarm consumer (SQLite) read it
through a real Mosquitto: telemetry points, the alarm raised from `_alarms/events`, and the
device's DDEATH as the `disconnected` alarm."""

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paho.mqtt.enums import MQTTProtocolVersion
from sqlmodel import Session, select

from config.loader import parse_plant
from edge.agent import EdgeAgent
from historian.service import Historian
from historian.stores import query_history
from mes.alarms.consumer import ConditionConsumer
from mes.alarms.models import AlarmCurrent
from mes.alarms.service import AlarmService
from tests.northbound.synthetic import SyntheticDriver, plant
from tests.northbound.test_agent import until
from tests.quality.db import database
from tests.services.mosquitto import Mosquitto
from tests.sparkplug.scada import ScadaHost
from uns.sparkplug.settings import host_group
from uns.topics import Namespace


def sparkplug_plant(url: str, tmp_path: Path, client_id: str, **historian: Any) -> dict[str, Any]:
    """One synthetic device publishing Sparkplug B only, and an embedded historian store."""
    data = plant(url, tmp_path, devices=1, poll_ms=50)
    data["edge"]["payloads"] = ["sparkplug_b"]
    data["historian"] = {
        "embedded_path": str(tmp_path / "history.sqlite"),
        "batch_size": 10,
        "flush_interval_ms": 50,
        "client_id": client_id,
        **historian,
    }
    return data


async def test_historian_and_mes_run_on_sparkplug_alone(
    mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path
) -> None:
    broker = mosquitto_factory().start()
    data = sparkplug_plant(broker.url, tmp_path, "hist-spb")
    data["alarms"] = [
        {"device": "press-01", "tag": "t0", "kind": "limit", "level": "H", "limit": 5,
         "priority": "medium"},
    ]  # fmt: skip
    cfg = parse_plant(data)
    ns = Namespace("acme", "plant1")
    hist = Historian(cfg, MQTTProtocolVersion.MQTTv5)
    hist.start()
    engine = database(f"sqlite:///{tmp_path}/mes.db")
    alarms = ConditionConsumer(
        engine, cfg.broker, ns, AlarmService(cfg), client_id="mes-spb",
        sparkplug_group=host_group(cfg),
    )  # fmt: skip
    alarms.start()
    await until(lambda: hist.stats.subscribed and alarms.subscribed.is_set(), 10, "hosts up")
    agent = EdgeAgent(cfg, driver_factory=SyntheticDriver)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    try:
        await until(lambda: hist.stats.points_written >= 50, 20, "points from Sparkplug")

        def rows() -> list[AlarmCurrent]:
            with Session(engine) as s:
                return list(s.exec(select(AlarmCurrent)).all())

        await until(lambda: any(r.condition_active for r in rows()), 20, "alarm raised")
        (raised,) = [r for r in rows() if r.condition_active]
        assert raised.path.startswith("stamping/line1/cell1")
        assert alarms.rejected == 0
        # a device that goes away: DDEATH -> the device-disconnected alarm
        assert agent.sparkplug is not None
        agent.sparkplug.device_status("press-01", "disconnected", "test")
        await until(
            lambda: any(r.alarm == "press-01._status.disconnected" for r in rows()),
            10,
            "device disconnected alarm",
        )
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        alarms.stop()
        hist.stop()
    samples = query_history(tmp_path / "history.sqlite", "t1", 0, device="press-01")
    assert len(samples) >= 5
    assert [s.value for s in samples] == sorted(s.value for s in samples)
    assert hist.stats.bad_messages == 0


async def test_a_host_started_after_the_births_asks_for_them(
    mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path
) -> None:
    broker = mosquitto_factory().start()
    cfg = parse_plant(sparkplug_plant(broker.url, tmp_path, "hist-late"))
    scada = ScadaHost(broker.url)  # only listens
    agent = EdgeAgent(cfg, driver_factory=SyntheticDriver)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    hist = Historian(cfg, MQTTProtocolVersion.MQTTv5)
    try:
        await asyncio.wait_for(agent.started.wait(), 10)
        await scada.until("DDATA", 5, device="press-01")
        assert len(scada.of("NBIRTH")) == 1
        hist.start()  # sees DDATA by alias only: asks the node for its births (NCMD)
        await until(lambda: hist.stats.points_written >= 20, 20, "points after the rebirth")
        # scada hears the rebirth on its own connection, maybe after the historian stored
        # points from it: wait for it there, then for more data, in which no third birth came
        await scada.until("NCMD")
        await scada.until("NBIRTH", 2)
        seen = len(scada.of("DDATA", device="press-01"))
        await scada.until("DDATA", seen + 10, device="press-01")
        assert len(scada.of("NCMD")) == 1  # asked once
        assert len(scada.of("NBIRTH")) == 2
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        hist.stop()
        scada.close()
    samples = query_history(tmp_path / "history.sqlite", "t0", 0, device="press-01")
    assert samples
    assert hist.stats.bad_messages == 0


async def test_the_historian_as_primary_host_gets_what_was_held_while_it_was_away(
    mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path
) -> None:
    broker = mosquitto_factory().start()
    data = sparkplug_plant(broker.url, tmp_path, "hist-primary", sparkplug_primary=True)
    data["edge"]["sparkplug"] = {"primary_host_id": "historian-1"}
    cfg = parse_plant(data)
    agent = EdgeAgent(cfg, driver_factory=SyntheticDriver)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    hist = Historian(cfg, MQTTProtocolVersion.MQTTv5)
    try:
        await asyncio.wait_for(agent.started.wait(), 10)
        node = agent.sparkplug
        assert node is not None
        await until(lambda: node.stats.queue_depth >= 10, 10, "polls held: no primary host")
        assert not node.online.is_set()
        hist.start()  # STATE online: births, then the held polls as historical data
        await until(node.online.is_set, 10, "node online")
        await until(lambda: node.stats.queue_depth == 0, 10, "held polls replayed")
        await until(lambda: hist.stats.points_written >= 20 * 5, 20, "points stored")
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        hist.stop()
    values = {s.value for s in query_history(tmp_path / "history.sqlite", "t0", 0)}
    top = max(v for v in values if v is not None)
    assert values >= {float(v) for v in range(int(top) + 1)}, "a poll held before is missing"
