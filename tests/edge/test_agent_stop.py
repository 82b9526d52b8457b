"""A real agent process over real simulators stops cleanly on SIGTERM: exit 0 and no ERROR
(nor any traceback) in its JSON log. Each stop used to log one from the OPC UA session
teardown ("Publish iteration crashed", "close_session raised during disconnect")."""

import asyncio
import contextlib
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from config.loader import load_plant
from edge.agent import EdgeAgent
from edge.stopping import raise_if_cancelled
from tests.northbound.helpers import NS, Collector
from tests.northbound.synthetic import plant as synthetic_plant
from tests.northbound.synthetic import write_plant
from tests.services.mosquitto import Mosquitto
from tests.services.ports import free_port, port_open, wait_for

SHOPFLOOR = str(Path(sys.executable).parent / "shopfloor")


@pytest.fixture
def machines(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, int]]:
    """The simulated press (Modbus TCP) and oven (OPC UA) as their own process."""
    modbus, opcua = free_port(), free_port()
    sims = {
        "version": 1,
        "machines": [
            {"kind": "modbus", "name": "press-01", "port": modbus, "update_interval_ms": 100},
            {
                "kind": "opcua",
                "name": "oven-01",
                "endpoint": f"opc.tcp://127.0.0.1:{opcua}/shopfloor/oven",
                "update_interval_ms": 100,
            },
        ],
    }
    path = tmp_path / "sims.yaml"
    path.write_text(yaml.safe_dump(sims))
    log = (tmp_path / "sims.log").open("ab")
    proc = subprocess.Popen([SHOPFLOOR, "sim", "run", "-c", str(path)], stderr=log)
    try:
        wait_for(lambda: port_open(modbus) and port_open(opcua), 30, "simulators listening")
        yield proc, modbus, opcua
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        log.close()


def plant(broker: str, work: Path, modbus: int, opcua: int, mode: str) -> dict:
    data = synthetic_plant(broker, work)
    data["plant"]["areas"].append(
        {"name": "finishing", "lines": [{"name": "line1", "cells": [{"name": "oven1"}]}]}
    )
    data["edge"]["agent_id"] = "edge-stop"
    return data | {
        "devices": [
            {
                "name": "press-01",
                "path": "stamping/line1/cell1",
                "driver": "modbus_tcp",
                "connection": {"host": "127.0.0.1", "port": modbus},
                "poll_interval_ms": 100,
                "tags": [{"name": "state", "address": 0, "type": "uint16"}],
            },
            {
                "name": "oven-01",
                "path": "finishing/line1/oven1",
                "driver": "opcua",
                "endpoint": f"opc.tcp://127.0.0.1:{opcua}/shopfloor/oven",
                "mode": mode,
                "publishing_interval_ms": 100,
                "poll_interval_ms": 100,
                "tags": [{"name": "temperature", "node_id": "ns=2;s=Oven.Temperature"}],
            },
        ],
    }


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["subscription", "poll"])
@pytest.mark.parametrize("machines_stop_too", [True, False], ids=["like-demo-ctrl-c", "alone"])
def test_sigterm_stops_without_errors_in_the_log(
    mosquitto: Mosquitto,
    machines: tuple[subprocess.Popen[bytes], int, int],
    tmp_path: Path,
    mode: str,
    machines_stop_too: bool,
) -> None:
    """Stopped alone, and the way Ctrl-C stops the demo (the machines go away at the same
    moment as the agent)."""
    sims, modbus, opcua = machines
    cfg = tmp_path / "plant.yaml"
    cfg.write_text(yaml.safe_dump(plant(mosquitto.url, tmp_path, modbus, opcua, mode)))
    col = Collector(
        mosquitto.url,
        f"{NS.root}/+/+/+/+/_telemetry",
        client_id=f"col-stop-{mode}-{machines_stop_too}",
    )
    log_path = tmp_path / "edge.log"
    with log_path.open("ab") as log:
        agent = subprocess.Popen([SHOPFLOOR, "edge", "run", "-c", str(cfg)], stderr=log)
    try:

        def good_from(device: str) -> bool:
            for topic, payload, _ in list(col.messages):
                if f"/{device}/" in topic and any(
                    v.get("quality") == "good" for v in orjson.loads(payload).get("values", [])
                ):
                    return True
            return False

        wait_for(lambda: good_from("press-01") and good_from("oven-01"), 30, "good values")
        if machines_stop_too:
            sims.send_signal(signal.SIGTERM)
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(20) == 0
    finally:
        if agent.poll() is None:
            agent.kill()
        col.close()
    entries = [orjson.loads(line) for line in log_path.read_bytes().splitlines() if line]
    assert any(e["msg"] == "edge agent stopped" for e in entries)
    noisy = [e for e in entries if e["level"] in ("error", "critical") or "exc" in e]
    assert noisy == []


class StubbornDriver:
    """Loses the first cancel request, as asyncio.wait_for on 3.11 or a library can."""

    def __init__(self, cfg: Any, state_dir: Path) -> None:
        self.overruns = 0

    async def run(self, host: Any) -> None:
        host.status("connected")
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(3600)
        await asyncio.sleep(3600)

    async def write(self, tag: str, value: Any) -> None:
        raise AssertionError("not used")


async def test_stop_ends_a_driver_that_lost_the_first_cancel(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    cfg = load_plant(write_plant(tmp_path / "plant.yaml", synthetic_plant(mosquitto.url, tmp_path)))
    agent = EdgeAgent(cfg, driver_factory=StubbornDriver)
    stop = asyncio.Event()
    run = asyncio.create_task(agent.run(stop))
    await asyncio.wait_for(agent.started.wait(), 20)
    stop.set()
    await asyncio.wait_for(run, 30)
    assert run.done()
    assert run.exception() is None


async def test_a_loop_sees_a_cancel_that_was_swallowed() -> None:
    rounds = 0

    waiting = asyncio.Event()

    async def reconnect_loop() -> None:
        nonlocal rounds
        while True:
            waiting.set()  # no await until the sleep below: the cancel lands in it
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(3600)
            rounds += 1
            raise_if_cancelled()

    task = asyncio.create_task(reconnect_loop())
    await asyncio.wait_for(waiting.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert rounds == 1
