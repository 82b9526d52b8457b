"""WriteService (CONTRACTS.md section 4) with the real Modbus driver and the simulated press."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from edge.drivers.modbus.driver import ModbusDriver
from edge.writes import WriteService
from simulators.modbus.machine import ModbusSimulator
from simulators.modbus.testing import press_config, press_device
from simulators.opcua.testing import RecordingHost
from tests.services.ports import free_port


@pytest.fixture
async def service() -> AsyncIterator[tuple[WriteService, list[dict[str, Any]], ModbusSimulator]]:
    port = free_port()
    async with ModbusSimulator([press_config(port)]) as sim:
        cfg = press_device(port, ["stroke_rate_setpoint", "temperature", "run_command"])
        driver = ModbusDriver(cfg)
        host = RecordingHost()
        task = asyncio.create_task(driver.run(host))
        await host.until(lambda: host.state == "connected")
        audit: list[dict[str, Any]] = []
        try:
            yield WriteService({"press-01": (cfg, driver)}, audit.append), audit, sim
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def req(**fields: Any) -> dict[str, Any]:
    return {"v": 1, "request_id": "r-1", "tag": "stroke_rate_setpoint", "value": 75, "by": "E1"} | (
        fields
    )


async def test_writable_tag_is_written_and_audited(service: Any) -> None:
    svc, audit, sim = service
    result = await svc.handle("press-01", req())
    assert result == {"v": 1, "request_id": "r-1", "ok": True}
    assert sim.machine("press-01").bank.holding_registers[10] == 75
    assert audit[-1]["ok"] is True
    assert audit[-1]["by"] == "E1"
    assert audit[-1]["tag"] == "stroke_rate_setpoint"
    assert audit[-1]["at"].endswith("+00:00")


@pytest.mark.parametrize(
    ("device", "payload", "error"),
    [
        ("press-01", req(tag="temperature"), "not writable"),
        ("press-01", req(tag="ghost"), "has no tag 'ghost'"),
        ("press-09", req(), "unknown device 'press-09'"),
        ("press-01", req(value=[1]), "value must be a number, a boolean or a string"),
        ("press-01", req(value=None), "value must be"),
        ("press-01", req(value=float("nan")), "finite"),
        ("press-01", req(v=2), "unsupported schema version"),
        ("press-01", req(request_id=""), "request_id"),
        ("press-01", req(value=70000), "does not fit uint16"),
        ("press-01", req(tag="run_command", value=3), "needs true or false"),
    ],
)
async def test_refusals_carry_the_reason_and_are_audited(
    service: Any, device: str, payload: dict[str, Any], error: str
) -> None:
    svc, audit, sim = service
    result = await svc.handle(device, payload)
    assert result["ok"] is False
    assert error in result["error"]
    assert result["v"] == 1
    assert audit[-1]["ok"] is False
    assert audit[-1]["error"] == result["error"]
    assert sim.machine("press-01").bank.holding_registers[10] == 60  # untouched


async def test_a_retried_request_id_is_not_written_twice(service: Any) -> None:
    svc, audit, sim = service
    first = await svc.handle("press-01", req(value=80))
    sim.machine("press-01").bank.holding_registers[10] = 60
    sim.machine("press-01").freeze()  # keep the register as set above
    again = await svc.handle("press-01", req(value=80))
    assert again == first
    assert sim.machine("press-01").bank.holding_registers[10] == 60
    assert audit[-1]["error"] == "duplicate request_id"


async def test_device_down_is_a_failed_write_not_a_hang(service: Any) -> None:
    svc, audit, sim = service
    await sim.stop()
    result = await svc.handle("press-01", req(request_id="r-down"))
    assert result["ok"] is False
    assert "press-01" in result["error"]
    assert audit[-1]["request_id"] == "r-down"
