"""Modbus RTU over a virtual serial pair (socat ptys): the driver against the simulated press.

Linux ptys refuse parity settings (tcsetattr EINVAL), so these lines run 8N1."""

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.drivers.modbus.driver import ModbusDriver
from edge.model import Quality
from simulators.modbus.machine import ModbusSimulator
from simulators.modbus.testing import press_config, press_device
from simulators.opcua.testing import RecordingHost
from tests.services.ports import wait_for

pytestmark = pytest.mark.skipif(shutil.which("socat") is None, reason="needs socat")


@pytest.fixture
def serial_pair(tmp_path: Path) -> Iterator[tuple[str, str]]:
    a, b = tmp_path / "press", tmp_path / "edge"
    log = tmp_path / "socat.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            ["socat", "-d", "-d", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        # both ends are configured once socat says it moves data (opening earlier races it)
        wait_for(lambda: b"starting data transfer loop" in log.read_bytes(), 5, "socat ptys")
        yield str(a), str(b)
    finally:
        proc.terminate()
        proc.wait(5)


def rtu_device(port: str, tags: list[str], **overrides: object) -> object:
    return press_device(
        driver="modbus_rtu",
        connection={"port": port, "baudrate": 115200, "parity": "N"},
        tags=tags,
        **overrides,
    )


async def test_rtu_reads_writes_and_isolates_units(serial_pair: tuple[str, str]) -> None:
    press_end, edge_end = serial_pair
    serial = {"port": press_end, "baudrate": 115200, "parity": "N"}
    async with ModbusSimulator([press_config(15020, serial=serial)]) as sim:
        tags = ["state", "temperature", "recipe", "fault", "stroke_rate_setpoint"]
        dev = rtu_device(edge_end, tags)
        driver = ModbusDriver(dev)  # type: ignore[arg-type]
        host = RecordingHost()
        task = asyncio.create_task(driver.run(host))
        try:
            await host.until_reading("recipe", lambda r: r.value == "BRKT-200", what="RTU poll")
            last = {r.tag: r for r in host.batches[-1]}
            assert all(r.quality is Quality.GOOD for r in last.values())
            assert 20 < last["temperature"].value < 70  # type: ignore[operator]
            await driver.write("stroke_rate_setpoint", 42)
            await host.until_reading("stroke_rate_setpoint", lambda r: r.value == 42)
            assert sim.machine("press-01").press.stroke_rate_spm == 42
            sim.machine("press-01").set_exception("holding_register", 0, 4)
            r = await host.until_reading("state", lambda r: r.quality is Quality.BAD)
            assert r.reason == "server_device_failure"
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_rtu_silent_unit_times_out(serial_pair: tuple[str, str]) -> None:
    press_end, edge_end = serial_pair
    serial = {"port": press_end, "baudrate": 115200, "parity": "N"}
    async with ModbusSimulator([press_config(15020, serial=serial)]):
        dev = rtu_device(edge_end, ["state"], unit_id=7, timeout_ms=200)
        host = RecordingHost()
        task = asyncio.create_task(ModbusDriver(dev).run(host))  # type: ignore[arg-type]
        try:
            r = await host.until_reading("state", lambda r: r.quality is Quality.BAD)
            assert r.reason == "comm_timeout"
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
