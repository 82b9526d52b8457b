"""Faults: the server stops and restarts, connections drop, responses stall."""

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from edge.drivers.opcua.driver import OpcUaDriver
from edge.model import Quality, now_ms
from simulators.opcua.machine import OvenMachine
from simulators.opcua.testing import RecordingHost, oven_config, oven_device
from tests.services.ports import free_port

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_oven() -> AsyncIterator[OvenMachine]:
    machine = OvenMachine(oven_config(free_port()))
    await machine.start()
    yield machine
    await machine.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def oven(shared_oven: OvenMachine) -> AsyncIterator[OvenMachine]:
    """One simulator for the module (a start costs seconds on a busy machine); each test
    leaves it serving, and its faults are undone."""
    shared_oven.reset_faults()
    yield shared_oven
    if shared_oven.server is None:
        await shared_oven.start()
    shared_oven.reset_faults()


async def _connected(
    oven: OvenMachine, tmp_path: Path, **kw: object
) -> tuple[OpcUaDriver, RecordingHost, asyncio.Task[None]]:
    driver = OpcUaDriver(oven_device(oven.port, **kw), tmp_path)
    host = RecordingHost()
    task = asyncio.create_task(driver.run(host))
    await host.until_reading("temperature", lambda r: r.quality is Quality.GOOD)
    assert host.state == "connected"
    return driver, host, task


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("mode", ["subscription", "poll"])
async def test_server_stop_gives_bad_quality_and_restart_recovers(
    oven: OvenMachine, tmp_path: Path, mode: str
) -> None:
    driver, host, task = await _connected(oven, tmp_path, mode=mode)
    await oven.stop()
    # within a few watchdog periods (the wait's bound; not timed: a loaded machine is slower)
    bad = await host.until_reading("temperature", lambda r: r.quality is Quality.BAD, timeout=5)
    assert bad.value is None
    assert bad.reason in {"BadShutdown", "BadConnectionClosed", "BadNotConnected", "BadTimeout"}
    assert {r.tag for r in host.batches[-1]} >= {"temperature", "setpoint", "door_open"}
    await host.until(lambda: host.state == "disconnected", what="disconnected status")

    oven.set_temperature(99.5)  # the restarted server must deliver fresh data
    await oven.start()
    restarted_ms = now_ms()
    good = await host.until_reading(
        "temperature", lambda r: r.quality is Quality.GOOD and r.value == 99.5, timeout=10
    )
    assert good.acquired_ms >= restarted_ms
    await host.until(lambda: host.state == "connected", what="connected again")
    assert driver.sessions[0].connects == 2
    await _stop(task)


async def test_dropped_connection_is_reestablished(oven: OvenMachine, tmp_path: Path) -> None:
    driver, host, task = await _connected(oven, tmp_path)
    assert oven.drop_connections() == 1
    await host.until_reading("temperature", lambda r: r.quality is Quality.BAD, timeout=5)
    await host.until_reading("temperature", lambda r: r.quality is Quality.GOOD, timeout=10)
    assert driver.sessions[0].connects == 2
    assert oven.proxy is not None
    assert oven.proxy.connections == 1
    await _stop(task)


@pytest.mark.parametrize("mode", ["subscription", "poll"])
async def test_stalled_server_times_out_then_recovers(
    oven: OvenMachine, tmp_path: Path, mode: str
) -> None:
    driver, host, task = await _connected(oven, tmp_path, mode=mode)
    oven.freeze()  # no data changes: a quiet subscription gets probed
    oven.set_delay(3.0)  # longer than timeout_ms (1 s)
    bad = await host.until_reading("temperature", lambda r: r.quality is Quality.BAD, timeout=5)
    assert bad.reason == "BadTimeout"
    oven.set_delay(0.0)
    oven.freeze(False)
    await host.until_reading("temperature", lambda r: r.quality is Quality.GOOD, timeout=15)
    assert driver.sessions[0].connects >= 2
    await _stop(task)


async def test_a_dead_device_does_not_hold_up_a_live_one(oven: OvenMachine, tmp_path: Path) -> None:
    dead_driver = OpcUaDriver(oven_device(free_port(), name="oven-02"), tmp_path)
    dead_host = RecordingHost()
    dead = asyncio.create_task(dead_driver.run(dead_host))
    _, host, task = await _connected(oven, tmp_path, mode="poll", poll_interval_ms=50)
    await dead_host.until(lambda: dead_host.state == "disconnected", what="dead one reported")
    first = len(host.batches)
    # held up by the dead one's 1 s connect attempts, 10 polls of 50 ms would take 10 s or more
    await host.until(lambda: len(host.batches) >= first + 10, timeout=5, what="10 more polls")
    dead_reading = dead_host.latest("temperature")
    assert dead_reading is not None
    assert dead_reading.reason == "BadNotConnected"
    await _stop(task)
    await _stop(dead)


async def test_slow_polls_are_counted_as_overruns_not_queued(
    oven: OvenMachine, tmp_path: Path
) -> None:
    driver, host, task = await _connected(oven, tmp_path, mode="poll", poll_interval_ms=50)
    oven.set_delay(0.15)  # a poll now takes ~0.3 s: six periods
    mark = len(host.batches)
    await host.until(lambda: len(host.batches) >= mark + 4, timeout=5, what="four slow polls")
    assert driver.overruns >= 4
    polls_during_delay = len(host.batches) - mark
    oven.set_delay(0.0)
    latest = host.latest("temperature")
    assert latest is not None
    assert latest.quality is Quality.GOOD  # slow is not dead: timeout_ms is 1 s
    # no burst of queued polls afterwards: the next polls come at the normal rate
    mark = len(host.batches)
    started = time.monotonic()
    await host.until(lambda: len(host.batches) >= mark + 4, timeout=5, what="four fast polls")
    assert time.monotonic() - started >= 0.09
    assert polls_during_delay < 20
    await _stop(task)
