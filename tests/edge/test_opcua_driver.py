"""The OPC UA driver against the simulated oven over real sockets."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio

from edge.drivers.base import WriteFailed, WriteRefused
from edge.drivers.opcua.driver import OpcUaDriver
from edge.model import Quality, now_ms
from simulators.opcua.machine import OvenMachine
from simulators.opcua.testing import OVEN_TAGS, RecordingHost, oven_config, oven_device
from tests.services.ports import free_port

MODES = ["subscription", "poll"]
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_oven() -> AsyncIterator[OvenMachine]:
    machine = OvenMachine(oven_config(free_port(), extra_variables=20))
    await machine.start()
    yield machine
    await machine.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def oven(shared_oven: OvenMachine) -> AsyncIterator[OvenMachine]:
    """One simulator for the module (it takes a second to start), reset around each test."""
    shared_oven.reset_faults()
    yield shared_oven
    shared_oven.reset_faults()


async def _run(driver: OpcUaDriver, host: RecordingHost) -> asyncio.Task[None]:
    task = asyncio.create_task(driver.run(host))
    await host.until(lambda: host.state == "connected", what="connected")
    return task


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("mode", MODES)
async def test_values_carry_source_timestamps_and_acquisition_time(
    oven: OvenMachine, tmp_path: Path, mode: str
) -> None:
    host = RecordingHost()
    driver = OpcUaDriver(oven_device(oven.port, mode=mode), tmp_path)
    task = await _run(driver, host)
    oven.freeze()  # the oven loop must not overwrite what we inject
    source = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    await oven.set_value("Temperature", 123.5, source_ts=source)
    before = now_ms()
    r = await host.until_reading("temperature", lambda r: r.value == 123.5)
    assert r.quality is Quality.GOOD
    assert r.reason is None
    assert r.unit == "degC"
    assert r.ts == int(source.timestamp() * 1000)
    assert before - 1000 <= r.acquired_ms <= now_ms()
    state, door = host.latest("state"), host.latest("door_open")
    assert state is not None
    assert state.value == "HEATING"
    assert door is not None
    assert door.value is False
    await _stop(task)


async def test_poll_mode_reads_every_tag_each_poll(oven: OvenMachine, tmp_path: Path) -> None:
    host = RecordingHost()
    device = oven_device(oven.port, mode="poll", poll_interval_ms=50, max_nodes_per_read=2)
    driver = OpcUaDriver(device, tmp_path)  # 5 tags: three Read requests per poll
    task = await _run(driver, host)
    await host.until(lambda: len(host.batches) >= 4, what="four polls")
    names = [t["name"] for t in OVEN_TAGS]
    for batch in host.batches[:4]:
        assert [r.tag for r in batch] == names
    assert driver.overruns == 0
    await _stop(task)


@pytest.mark.parametrize("mode", MODES)
async def test_status_codes_map_to_quality_with_the_status_name(
    oven: OvenMachine, tmp_path: Path, mode: str
) -> None:
    host = RecordingHost()
    task = await _run(OpcUaDriver(oven_device(oven.port, mode=mode), tmp_path), host)
    oven.set_bad("Temperature", "BadSensorFailure")
    bad = await host.until_reading("temperature", lambda r: r.quality is Quality.BAD)
    assert bad.reason == "BadSensorFailure"
    assert bad.value is None
    oven.set_bad("Temperature", "UncertainLastUsableValue")
    unc = await host.until_reading("temperature", lambda r: r.quality is Quality.UNCERTAIN)
    assert unc.reason == "UncertainLastUsableValue"
    assert isinstance(unc.value, float)
    oven.clear_bad()
    await host.until_reading("temperature", lambda r: r.quality is Quality.GOOD)
    await _stop(task)


async def test_readings_stay_raw_and_writes_undo_scale(oven: OvenMachine, tmp_path: Path) -> None:
    """The pipeline applies scale/offset to OPC UA readings; the driver must not do it too.
    Writes come in engineering units and are converted back."""
    tags = [
        {"name": "t_f", "node_id": "ns=2;s=Oven.Temperature", "scale": 1.8, "offset": 32},
        {
            "name": "sp_f",
            "node_id": "ns=2;s=Oven.Setpoint",
            "scale": 1.8,
            "offset": 32,
            "writable": True,
        },
    ]
    host = RecordingHost()
    driver = OpcUaDriver(oven_device(oven.port, tags=tags), tmp_path)
    task = await _run(driver, host)
    oven.freeze()
    await oven.set_value("Temperature", 100.0)
    await host.until_reading("t_f", lambda r: r.value == 100.0)
    await driver.write("sp_f", 212.0)
    assert oven.value("Setpoint") == pytest.approx(100.0)
    await _stop(task)


async def test_writes_only_to_writable_tags(oven: OvenMachine, tmp_path: Path) -> None:
    host = RecordingHost()
    driver = OpcUaDriver(oven_device(oven.port), tmp_path)
    task = await _run(driver, host)
    await driver.write("setpoint", 190.0)
    assert oven.value("Setpoint") == 190.0
    await host.until_reading("setpoint", lambda r: r.value == 190.0)
    with pytest.raises(WriteRefused, match="not writable"):
        await driver.write("temperature", 10.0)
    with pytest.raises(WriteRefused, match="no tag 'nope'"):
        await driver.write("nope", 1.0)
    with pytest.raises(WriteRefused, match="Double"):
        await driver.write("setpoint", "hot")
    assert oven.value("Setpoint") == 190.0
    await _stop(task)


async def test_write_the_server_refuses_fails_with_its_status(
    oven: OvenMachine, tmp_path: Path
) -> None:
    tags = [{"name": "t", "node_id": "ns=2;s=Oven.Temperature", "writable": True}]
    host = RecordingHost()
    driver = OpcUaDriver(oven_device(oven.port, tags=tags), tmp_path)
    task = await _run(driver, host)
    with pytest.raises(WriteFailed, match="device refused: Bad"):
        await driver.write("t", 1.0)
    await _stop(task)


async def test_write_refused_while_disconnected(tmp_path: Path) -> None:
    driver = OpcUaDriver(oven_device(free_port()), tmp_path)
    with pytest.raises(WriteFailed, match="not connected"):
        await driver.write("setpoint", 100.0)


async def test_unknown_node_degrades_the_device_but_not_the_other_tags(
    oven: OvenMachine, tmp_path: Path
) -> None:
    tags = [*OVEN_TAGS, {"name": "ghost", "node_id": "ns=2;s=Oven.Nope"}]
    host = RecordingHost()
    task = asyncio.create_task(OpcUaDriver(oven_device(oven.port, tags=tags), tmp_path).run(host))
    await host.until(lambda: host.state == "degraded", what="degraded")
    assert "ghost: BadNodeIdUnknown" in (host.statuses[-1][1] or "")
    ghost = host.latest("ghost")
    assert ghost is not None
    assert ghost.quality is Quality.BAD
    assert ghost.reason == "BadNodeIdUnknown"
    await host.until_reading("temperature", lambda r: r.quality is Quality.GOOD)
    await _stop(task)


async def test_large_tag_sets_spread_over_subscriptions_and_sessions(
    oven: OvenMachine, tmp_path: Path
) -> None:
    tags = [
        {"name": f"x{i}", "node_id": f"ns=2;s=Oven.Extra.{i:05d}"} for i in range(20)
    ] + OVEN_TAGS
    device = oven_device(
        oven.port, tags=tags, max_items_per_subscription=4, max_subscriptions_per_session=4
    )
    driver = OpcUaDriver(device, tmp_path)
    assert [len(s.groups) for s in driver.sessions] == [4, 3]  # 25 tags -> 7 subs -> 2 sessions
    host = RecordingHost()
    task = await _run(driver, host)
    names = {t["name"] for t in tags}
    await host.until(
        lambda: {r.tag for r in host.all() if r.quality is Quality.GOOD} >= names,
        what="every tag good",
    )
    assert oven.proxy is not None
    assert oven.proxy.connections == 2
    assert sum(len(s.subscriptions) for s in driver.sessions) == 7
    await _stop(task)


async def test_absolute_deadband_is_applied_by_the_server(
    oven: OvenMachine, tmp_path: Path
) -> None:
    node = "ns=2;s=Oven.Extra.00001"
    tags = [{"name": "raw", "node_id": node}, {"name": "banded", "node_id": node, "deadband": 4.5}]
    oven.freeze()
    await oven.set_value("Extra.00001", 0.0)
    host = RecordingHost()
    task = await _run(OpcUaDriver(oven_device(oven.port, tags=tags), tmp_path), host)
    await host.until(lambda: host.latest("banded") is not None, what="initial values")
    for value in (1.0, 2.0, 10.0):
        await oven.set_value("Extra.00001", value)
        await host.until_reading("raw", lambda r, v=value: r.value == v)  # type: ignore[misc]
    await host.until_reading("banded", lambda r: r.value == 10.0)
    assert [r.value for r in host.all("raw")] == [0.0, 1.0, 2.0, 10.0]
    assert [r.value for r in host.all("banded")] == [0.0, 10.0]
    await _stop(task)


@pytest.mark.parametrize("mode", MODES)
async def test_node_ids_by_namespace_uri_resolve_at_connect(
    oven: OvenMachine, tmp_path: Path, mode: str
) -> None:
    uri = oven.cfg.namespace
    tags = [
        {"name": "temperature", "node_id": f"nsu={uri};s=Oven.Temperature"},
        {"name": "setpoint", "node_id": f"nsu={uri};s=Oven.Setpoint", "writable": True},
        {"name": "typo", "node_id": "nsu=urn:shopfloor:sim:ovn;s=Oven.Temperature"},
        {"name": "door_open", "node_id": "ns=2;s=Oven.DoorOpen"},
    ]
    host = RecordingHost()
    driver = OpcUaDriver(oven_device(oven.port, tags=tags, mode=mode), tmp_path)
    task = asyncio.create_task(driver.run(host))
    await host.until(lambda: host.state == "degraded", what="degraded")
    error = host.statuses[-1][1] or ""
    assert "tag typo" in error
    assert "'urn:shopfloor:sim:ovn'" in error
    typo = host.latest("typo")
    assert typo is not None
    assert typo.reason == "BadNodeIdUnknown"
    oven.freeze()
    await oven.set_value("Temperature", 77.5)
    await host.until_reading("temperature", lambda r: r.value == 77.5)
    await host.until_reading("door_open", lambda r: r.quality is Quality.GOOD)
    await driver.write("setpoint", 150.0)
    assert oven.value("Setpoint") == 150.0
    with pytest.raises(WriteRefused, match="not writable"):
        await driver.write("typo", 1.0)
    await _stop(task)
