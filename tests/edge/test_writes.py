"""WriteService (docs/contracts.md section 4) with the real Modbus driver and simulated press."""

import asyncio
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from config.security import WriteLimits
from edge.drivers.modbus.config import ModbusDevice
from edge.drivers.modbus.driver import ModbusDriver
from edge.writes import Caller, WriteService, limit_problem
from simulators.modbus.machine import ModbusSimulator
from simulators.modbus.testing import press_config, press_device, press_tags
from simulators.opcua.testing import RecordingHost
from tests.services.ports import free_port

CALLER = Caller("token:mes", "http", "127.0.0.1:5555")


class Clock:
    """A monotonic clock the test moves by hand (the rate limit is measured against it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def service() -> AsyncIterator[tuple[WriteService, list[dict[str, Any]], ModbusSimulator]]:
    port = free_port()
    tags = press_tags(["stroke_rate_setpoint", "temperature", "run_command", "temperature_x10"])
    ramp = {"min": 0, "max": 150, "max_rate_per_s": 2}
    tags += [  # holding registers the press does not drive: one with a rate limit, one without
        {"name": "ramped", "address": 40, "writable": True, "limits": ramp},
        {"name": "unlimited", "address": 41, "writable": True},
    ]
    async with ModbusSimulator([press_config(port)]) as sim:
        base = press_device(port, ["state"]).model_dump(exclude_none=True)
        cfg = ModbusDevice.model_validate({**base, "tags": tags})
        driver = ModbusDriver(cfg)
        host = RecordingHost()
        task = asyncio.create_task(driver.run(host))
        await host.until(lambda: host.state == "connected")
        audit: list[dict[str, Any]] = []
        clock = Clock()
        try:
            svc = WriteService({"press-01": (cfg, driver)}, audit.append, clock=clock)
            svc.test_clock = clock  # type: ignore[attr-defined]
            yield svc, audit, sim
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def req(**fields: Any) -> dict[str, Any]:
    return {"v": 1, "request_id": "r-1", "tag": "stroke_rate_setpoint", "value": 75, "by": "E1"} | (
        fields
    )


async def test_writable_tag_is_written_and_audited(service: Any) -> None:
    svc, audit, sim = service
    result = await svc.handle("press-01", req(), CALLER)
    assert result == {"v": 1, "request_id": "r-1", "ok": True}
    assert sim.machine("press-01").bank.holding_registers[10] == 75
    assert audit[-1]["ok"] is True
    assert audit[-1]["by"] == "token:mes"  # who authenticated, not who the request claims
    assert audit[-1]["claimed_by"] == "E1"
    assert audit[-1]["via"] == "http"
    assert audit[-1]["remote"] == "127.0.0.1:5555"
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
        ("press-01", req(value=10000), "10000 is outside the limits of press-01.stroke_rate"),
        ("press-01", req(value=-1), "-1 is outside the limits"),
        ("press-01", req(value=True), "takes a number between 0 and 150"),
        ("press-01", req(tag="unlimited", value=5), "has no write limits"),
        ("press-01", req(tag="run_command", value=3), "needs true or false"),
    ],
)
async def test_refusals_carry_the_reason_and_are_audited(
    service: Any, device: str, payload: dict[str, Any], error: str
) -> None:
    svc, audit, sim = service
    result = await svc.handle(device, payload, CALLER)
    assert result["ok"] is False
    assert error in result["error"]
    assert result["v"] == 1
    assert audit[-1]["ok"] is False
    assert audit[-1]["error"] == result["error"]
    assert sim.machine("press-01").bank.holding_registers[10] == 60  # untouched


async def test_a_retried_request_id_is_not_written_twice(service: Any) -> None:
    svc, audit, sim = service
    first = await svc.handle("press-01", req(value=80), CALLER)
    sim.machine("press-01").bank.holding_registers[10] = 60
    sim.machine("press-01").freeze()  # keep the register as set above
    again = await svc.handle("press-01", req(value=80), CALLER)
    assert again == first
    assert sim.machine("press-01").bank.holding_registers[10] == 60
    assert audit[-1]["error"] == "duplicate request_id"


async def test_device_down_is_a_failed_write_not_a_hang(service: Any) -> None:
    svc, audit, sim = service
    await sim.stop()
    result = await svc.handle("press-01", req(request_id="r-down"), CALLER)
    assert result["ok"] is False
    assert "press-01" in result["error"]
    assert audit[-1]["request_id"] == "r-down"


async def test_rate_of_change_is_limited_against_the_previous_write(service: Any) -> None:
    svc, audit, sim = service
    bank = sim.machine("press-01").bank
    first = await svc.handle("press-01", req(request_id="a", tag="ramped", value=50), CALLER)
    assert first["ok"] is True  # the first write is bounded by min/max only
    svc.test_clock.now += 5  # 5 s later: at most 2/s -> 10
    too_fast = await svc.handle("press-01", req(request_id="b", tag="ramped", value=70), CALLER)
    assert too_fast["ok"] is False
    assert "from 50 to 70 in 5.0 s exceeds its rate limit of 2 per second" in too_fast["error"]
    assert bank.holding_registers[40] == 50
    within = await svc.handle("press-01", req(request_id="c", tag="ramped", value=60), CALLER)
    assert within["ok"] is True
    assert bank.holding_registers[40] == 60
    assert [a["ok"] for a in audit] == [True, False, True]


async def test_a_writable_number_without_limits_is_named_at_start(
    service: Any, caplog: pytest.LogCaptureFixture
) -> None:
    svc, _audit, _sim = service
    with caplog.at_level("WARNING", logger="edge.writes"):
        WriteService(svc.devices, lambda _entry: None)
    warned = [r.getMessage() for r in caplog.records if r.name == "edge.writes"]
    assert warned == [
        "tag press-01.unlimited is writable without limits: numbers written to it are refused "
        "until the plant file declares limits {min, max}"
    ]  # run_command is a coil (bool): no limits needed


async def test_the_rate_limit_holds_across_a_restart(service: Any, tmp_path: Path) -> None:
    svc, _audit, _sim = service
    state = tmp_path / "state" / "write-ramps.json"
    clock = svc.test_clock
    first = WriteService(svc.devices, lambda _e: None, clock=clock, ramp_state=state)
    assert (await first.handle("press-01", req(request_id="a", tag="ramped", value=50), CALLER))[
        "ok"
    ]
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    clock.now += 5
    restarted = WriteService(svc.devices, lambda _e: None, clock=clock, ramp_state=state)
    jump = await restarted.handle("press-01", req(request_id="b", tag="ramped", value=90), CALLER)
    assert "from 50 to 90 in 5.0 s exceeds its rate limit" in jump["error"]
    state.write_text("{broken")
    afresh = WriteService(svc.devices, lambda _e: None, clock=clock, ramp_state=state)
    assert (await afresh.handle("press-01", req(request_id="c", tag="ramped", value=90), CALLER))[
        "ok"
    ]


async def test_unparsable_attempts_are_audited_with_a_bounded_excerpt(service: Any) -> None:
    svc, audit, _sim = service
    payload = b"{not json" + b"x" * 5000
    result = svc.refuse("press-01", Caller("mqtt", "mqtt"), "bad request: not JSON", payload)
    assert result == {"v": 1, "request_id": None, "ok": False, "error": "bad request: not JSON"}
    entry = audit[-1]
    assert entry["by"] == "mqtt"
    assert entry["payload"]["bytes"] == len(payload)
    assert len(entry["payload"]["excerpt"]) == 200
    assert len(entry["payload"]["sha256"]) == 64


def test_limit_problem_is_pure_and_names_the_tag() -> None:
    lim = WriteLimits(min=20, max=250, max_rate_per_s=2)
    assert limit_problem("oven-01.setpoint", lim, 180.0, None, 0.0) is None
    assert "10000 is outside the limits of oven-01.setpoint: 20 to 250" in str(
        limit_problem("oven-01.setpoint", lim, 10000, None, 0.0)
    )
    assert limit_problem("o.s", lim, 190.0, (180.0, 0.0), 5.0) is None  # 10 in 5 s
    assert limit_problem("o.s", lim, 191.0, (180.0, 0.0), 5.0) is not None
    assert limit_problem("o.s", None, True, None, 0.0) is None  # booleans: the driver checks
    assert "has no write limits" in str(limit_problem("o.s", None, 1.5, None, 0.0))
