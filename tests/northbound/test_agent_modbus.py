"""The agent with the real driver registry against the simulated press: telemetry, a write
that reaches the machine, and a dead device that does not disturb the live one."""

import asyncio
import json
from pathlib import Path

import orjson

from config.loader import parse_plant
from edge.agent import EdgeAgent
from simulators.modbus.machine import ModbusSimulator
from simulators.modbus.testing import press_config, press_tags
from tests.northbound.helpers import NS, Collector
from tests.northbound.synthetic import plant
from tests.northbound.test_agent import until
from tests.services.mosquitto import Mosquitto
from tests.services.ports import free_port

PATH = "stamping/line1/cell1"


async def test_agent_runs_real_modbus_devices_isolated(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    port, dead = free_port(), free_port()
    data = plant(mosquitto.url, tmp_path, devices=2)
    live, gone = data["devices"]
    for dev, p in ((live, port), (gone, dead)):
        dev.update(
            connection={"host": "127.0.0.1", "port": p},
            poll_interval_ms=100,
            timeout_ms=300,
            retries=0,
            tags=press_tags(),
        )
    cfg = parse_plant(data)
    col = Collector(mosquitto.url, f"{NS.root}/#", client_id="col-modbus")
    async with ModbusSimulator([press_config(port, name="press-01")]) as sim:
        agent = EdgeAgent(cfg)
        stop = asyncio.Event()
        task = asyncio.create_task(agent.run(stop))
        await asyncio.wait_for(agent.started.wait(), 10)
        await until(lambda: len(col.seqs("press-01")) >= 5, 15, "press-01 telemetry")
        first = col.telemetry()["press-01"][0]
        assert {v["tag"] for v in first["values"]} >= {"state", "cycle_count", "temperature"}
        assert all(v["quality"] == "good" for v in first["values"])
        gone_status = NS.device_status(PATH, "press-02")

        def states(topic: str) -> list[str]:
            return [  # retained ones are left over from other tests on this broker
                orjson.loads(p)["state"] for t, p, old in col.messages if t == topic and not old
            ]

        await until(lambda: "disconnected" in states(gone_status), 5, "dead device reported")
        assert "connected" not in states(gone_status)
        assert states(NS.device_status(PATH, "press-01"))[-1] == "connected"
        req = {"v": 1, "request_id": "w-1", "tag": "stroke_rate_setpoint", "value": 42, "by": "t"}
        col.client.publish(NS.cmd_write(PATH, "press-01"), json.dumps(req), qos=1)
        result_topic = NS.cmd_result(PATH, "press-01")
        await until(lambda: any(t == result_topic for t, _, _ in col.messages), 10, "result")
        result = next(orjson.loads(p) for t, p, _ in col.messages if t == result_topic)
        assert result == {"v": 1, "request_id": "w-1", "ok": True}
        machine = sim.machine("press-01")
        await until(lambda: machine.press.stroke_rate_spm == 42, 5, "the press took the setpoint")
        assert agent.metrics is not None
        text = agent.metrics.render().decode()
        assert 'shopfloor_edge_poll_overruns_total{device="press-01"}' in text
        assert 'shopfloor_edge_values_written_total{device="press-01",outcome="ok"} 1.0' in text
        stop.set()
        await asyncio.wait_for(task, 15)
    assert len(col.seqs("press-02")) == len(set(col.seqs("press-02")))
    col.close()


HOLE = 1  # cycle_count's first register: unmapped on this device, inside the merged read


def _reads_over_the_hole(agent: EdgeAgent) -> list[tuple[int, int]]:
    driver = agent.drivers["press-01"]
    return [
        (r.request.address, r.request.count)
        for g in driver._groups  # type: ignore[attr-defined]
        for r in g.reads
        if r.request.address <= HOLE < r.request.address + r.request.count
    ]


async def test_a_hole_in_the_register_map_costs_no_bad_batch_now_or_after_a_restart(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """A read spanning an unmapped address is refused; the driver splits it in the same poll,
    and keeps the split in its state dir so that the next start does not ask again."""
    port = free_port()
    data = plant(mosquitto.url, tmp_path)
    data["devices"][0].update(
        connection={"host": "127.0.0.1", "port": port},
        poll_interval_ms=100,
        timeout_ms=300,
        retries=0,
        tags=press_tags(["state", "spindle_speed", "temperature"]),  # HR 0, 3-4, 5-6
    )
    col = Collector(mosquitto.url, f"{NS.root}/+/+/+/+/_telemetry", client_id="col-hole")
    async with ModbusSimulator([press_config(port, name="press-01")]) as sim:
        sim.machine("press-01").set_exception("holding_register", HOLE, 2)
        for start in (1, 2):
            agent = EdgeAgent(parse_plant(data))
            stop = asyncio.Event()
            task = asyncio.create_task(agent.run(stop))
            await asyncio.wait_for(agent.started.wait(), 10)
            if start == 2:
                assert _reads_over_the_hole(agent) == []  # learned before the first poll
            seen = len(col.seqs("press-01"))
            await until(lambda: len(col.seqs("press-01")) >= seen + 5, 15, "telemetry")  # noqa: B023
            stop.set()
            await asyncio.wait_for(task, 15)
            assert _reads_over_the_hole(agent) == []
    batches = col.telemetry()["press-01"]
    assert len(batches) >= 10
    bad = [v for b in batches for v in b["values"] if v["quality"] != "good"]
    assert bad == []
    learned = json.loads((tmp_path / "state" / "modbus-learned" / "press-01.json").read_text())
    assert learned["blocks"] == {"holding_register:0+7": ["state", "spindle_speed", "temperature"]}
    col.close()
