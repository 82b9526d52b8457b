"""The simulated oven from YAML, its fault switches, and `shopfloor edge browse` against it."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import typer
import yaml
from typer.testing import CliRunner

from edge.drivers.opcua import cli
from edge.drivers.opcua.config import OpcUaDevice
from edge.drivers.opcua.driver import OpcUaDriver
from edge.model import Quality
from simulators.opcua.config import OpcUaMachineConfig
from simulators.opcua.machine import OvenMachine, serve
from simulators.opcua.testing import RecordingHost, oven_config, oven_device
from tests.services.ports import free_port

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def oven() -> AsyncIterator[OvenMachine]:
    machine = OvenMachine(oven_config(free_port(), extra_variables=3))
    await machine.start()
    yield machine
    await machine.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def polled(oven: OvenMachine, tmp_path: Path) -> AsyncIterator[RecordingHost]:
    oven.reset_faults()
    host = RecordingHost()
    device = oven_device(oven.port, mode="poll", poll_interval_ms=30)
    task = asyncio.create_task(OpcUaDriver(device, tmp_path).run(host))
    await host.until(lambda: host.state == "connected", what="connected")
    yield host
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    oven.reset_faults()


async def test_machine_config_from_yaml() -> None:
    text = """
    kind: opcua
    name: oven-01
    endpoint: opc.tcp://127.0.0.1:14840/shopfloor/oven
    update_interval_ms: 250
    oven: {setpoint_c: 160, noise_c: 0.5}
    security: {modes: [SignAndEncrypt], users: {operator: pw}}
    """
    cfg = OpcUaMachineConfig.model_validate(yaml.safe_load(text))
    assert cfg.oven.setpoint_c == 160
    assert cfg.security.users["operator"].get_secret_value() == "pw"
    with pytest.raises(ValueError, match="noise_db"):
        OpcUaMachineConfig.model_validate({"kind": "opcua", "oven": {"noise_db": 1}})


async def test_temperature_excursion_is_held_until_released(
    oven: OvenMachine, polled: RecordingHost
) -> None:
    oven.set_temperature(250.0)
    await polled.until_reading("temperature", lambda r: r.value == 250.0)
    first = len(polled.batches)
    await polled.until(lambda: len(polled.batches) >= first + 5, what="five more polls")
    assert {r.value for r in polled.all("temperature")[-5:]} == {250.0}
    oven.release_temperature()
    await polled.until_reading("temperature", lambda r: r.value != 250.0)


async def test_frozen_values_stop_changing(oven: OvenMachine, polled: RecordingHost) -> None:
    await polled.until_reading("temperature", lambda r: r.quality is Quality.GOOD)
    oven.freeze()
    mark = len(polled.batches)
    await polled.until(lambda: len(polled.batches) >= mark + 8, what="eight polls")
    frozen = polled.all("temperature")[-6:]
    assert len({(r.value, r.ts) for r in frozen}) == 1
    oven.freeze(False)
    last = frozen[-1]
    await polled.until_reading("temperature", lambda r: r.ts != last.ts)


async def test_door_and_setpoint_drive_the_state(oven: OvenMachine, polled: RecordingHost) -> None:
    oven.set_door(True)
    await polled.until_reading("state", lambda r: r.value == "DOOR_OPEN")
    door = polled.latest("door_open")
    assert door is not None
    assert door.value is True
    oven.set_door(False)
    await polled.until_reading("batch_count", lambda r: r.value == 1)


@pytest.mark.parametrize("by_uri", [False, True])
async def test_browse_prints_config_ready_to_paste(
    oven: OvenMachine, tmp_path: Path, by_uri: bool
) -> None:
    app = typer.Typer()
    cli.register(app)
    args = ["browse", oven.cfg.endpoint, *(["--by-uri"] if by_uri else [])]
    result = await asyncio.to_thread(CliRunner().invoke, app, args)
    ns = f"nsu={oven.cfg.namespace}" if by_uri else "ns=2"
    assert result.exit_code == 0, result.output
    pasted = yaml.safe_load(result.output)
    device = OpcUaDevice.model_validate(
        {
            "name": "oven-01",
            "path": "finishing/line1/oven1",
            "driver": "opcua",
            "endpoint": oven.cfg.endpoint,
            **pasted,
        }
    )
    by_name = {t.name: t for t in device.tags}
    assert by_name["temperature"].node_id == f"{ns};s=Oven.Temperature"
    assert by_name["setpoint"].writable
    assert not by_name["temperature"].writable
    assert by_name["x00002"].node_id == f"{ns};s=Oven.Extra.00002"
    assert len(device.tags) == 6 + 3
    # and the pasted tags acquire
    host = RecordingHost()
    task = asyncio.create_task(OpcUaDriver(device, tmp_path).run(host))
    await host.until(
        lambda: {r.tag for r in host.all() if r.quality is Quality.GOOD} >= set(by_name),
        what="every browsed tag good",
    )
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_browse_of_a_dead_endpoint_says_so() -> None:
    app = typer.Typer()
    cli.register(app)
    url = f"opc.tcp://127.0.0.1:{free_port()}/x"
    result = await asyncio.to_thread(CliRunner().invoke, app, ["browse", url, "--timeout", "1"])
    assert result.exit_code == 1
    assert f"browse {url} failed: BadNotConnected" in result.output


async def test_serve_runs_until_stopped(tmp_path: Path) -> None:
    port = free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(serve(oven_config(port, fault_proxy=False), stop))
    host = RecordingHost()
    driver_task = asyncio.create_task(OpcUaDriver(oven_device(port), tmp_path).run(host))
    # the server starts in ~2 s alone, and the driver backs off until then: room for a busy box
    await host.until_reading("temperature", lambda r: r.quality is Quality.GOOD, timeout=30)
    stop.set()
    await asyncio.wait_for(task, 10)
    await host.until_reading("temperature", lambda r: r.quality is Quality.BAD)
    driver_task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await driver_task
