"""The Modbus TCP driver against the simulated press over real sockets."""

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from edge.drivers.base import WriteRefused
from edge.drivers.modbus.driver import ModbusDriver
from edge.model import Quality
from simulators.modbus.machine import ModbusSimulator
from simulators.modbus.press import PressState
from simulators.modbus.testing import press_config, press_device
from simulators.opcua.testing import RecordingHost
from tests.services.ports import free_port


@pytest.fixture
async def press() -> AsyncIterator[ModbusSimulator]:
    async with ModbusSimulator([press_config(free_port())]) as sim:
        yield sim


def port_of(sim: ModbusSimulator) -> int:
    return sim.machine("press-01").cfg.port


async def start(driver: ModbusDriver) -> tuple[RecordingHost, asyncio.Task[None]]:
    host = RecordingHost()
    return host, asyncio.create_task(driver.run(host))


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_every_type_and_order_decodes_the_same_values(press: ModbusSimulator) -> None:
    host, task = await start(ModbusDriver(press_device(port_of(press))))
    try:
        await host.until_reading("energy", lambda r: r.value > 0, what="a running press")
        press.machine("press-01").freeze()  # so that blocks read one after another agree
        n = len(host.batches)
        await host.until(lambda: len(host.batches) >= n + 2, what="polls of frozen values")
        batch = {r.tag: r for r in host.batches[-1]}
        assert all(r.quality is Quality.GOOD for r in batch.values()), batch
        t = batch["temperature"].value
        for name in ("temperature_badc", "temperature_dcba", "temperature_in"):
            assert batch[name].value == t, name
        assert batch["temperature_x10"].value == pytest.approx(t, abs=0.051)
        assert batch["cycle_count_cdab"].value == batch["cycle_count"].value
        assert batch["total_strokes_ghef"].value == batch["total_strokes"].value
        assert batch["state"].value == PressState.RUNNING
        assert batch["running"].value is True
        assert batch["running_bit"].value is True
        assert batch["fault_bit"].value is False
        assert batch["fault"].value is False
        assert batch["recipe"].value == "BRKT-200"
        assert batch["spindle_speed"].unit == "rpm"
        press.machine("press-01").freeze(False)
        press.machine("press-01").press.fire("trip")
        await host.until_reading("fault_bit", lambda r: r.value is True)
        assert host.latest("state").value == PressState.FAULT  # type: ignore[union-attr]
    finally:
        await stop(task)


async def test_write_setpoint_and_coil_and_refusals(press: ModbusSimulator) -> None:
    driver = ModbusDriver(press_device(port_of(press)))
    host, task = await start(driver)
    try:
        await host.until(lambda: host.state == "connected", what="connected")
        await driver.write("stroke_rate_setpoint", 90)
        await host.until_reading("stroke_rate_setpoint", lambda r: r.value == 90)
        await host.until_reading("spindle_speed", lambda r: r.value > 1700, what="faster press")
        await driver.write("run_command", False)
        await host.until_reading("state", lambda r: r.value == PressState.IDLE)
        with pytest.raises(WriteRefused, match="not writable"):
            await driver.write("temperature", 10.0)
        with pytest.raises(WriteRefused, match="has no tag 'nope'"):
            await driver.write("nope", 1)
        with pytest.raises(WriteRefused, match="does not fit uint16"):
            await driver.write("stroke_rate_setpoint", 70000)
        with pytest.raises(WriteRefused, match="needs true or false"):
            await driver.write("run_command", "yes")
    finally:
        await stop(task)


async def test_exception_gives_bad_quality_with_its_name(press: ModbusSimulator) -> None:
    dev = press_device(port_of(press), ["state", "temperature", "recipe"])
    host, task = await start(ModbusDriver(dev))
    try:
        await host.until_reading("temperature", lambda r: r.quality is Quality.GOOD)
        press.machine("press-01").set_exception("holding_register", 5, 4)
        r = await host.until_reading("temperature", lambda r: r.quality is Quality.BAD)
        assert r.reason == "server_device_failure"
        assert host.state == "degraded"
        press.machine("press-01").clear_exceptions()
        await host.until_reading("temperature", lambda r: r.quality is Quality.GOOD)
        await host.until(lambda: host.state == "connected")
    finally:
        await stop(task)


async def test_illegal_address_is_reported_once_without_reconnects(
    press: ModbusSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    dev = press_device(port_of(press), ["state", "cycle_count", "spindle_speed"])
    press.machine("press-01").set_exception("holding_register", 2, 2)  # inside cycle_count
    driver = ModbusDriver(dev)
    host, task = await start(driver)
    try:
        with caplog.at_level(logging.ERROR, logger="edge.drivers.modbus.driver"):
            await host.until(lambda: len(host.batches) >= 6, what="several polls")
        last = {r.tag: r for r in host.batches[-1]}
        assert last["cycle_count"].quality is Quality.BAD
        assert last["cycle_count"].reason == "illegal_data_address"
        assert last["state"].quality is Quality.GOOD
        assert last["spindle_speed"].quality is Quality.GOOD
        complaints = [m for m in caplog.messages if "illegal data address" in m]
        assert len(complaints) == 1
        assert "cycle_count" in complaints[0]
        assert driver.connects == 1
        assert host.state == "degraded"
    finally:
        await stop(task)


async def test_killed_device_is_bad_within_one_poll_and_recovers_others_unaffected() -> None:
    async with (
        ModbusSimulator([press_config(free_port())]) as a,
        ModbusSimulator([press_config(free_port(), name="press-02")]) as b,
    ):
        da = ModbusDriver(press_device(port_of(a), ["temperature", "state"]))
        db = ModbusDriver(
            press_device(b.machine("press-02").cfg.port, ["temperature", "state"], name="press-02")
        )
        ha, ta = await start(da)
        hb, tb = await start(db)
        try:
            await ha.until_reading("temperature", lambda r: r.quality is Quality.GOOD)
            await hb.until_reading("temperature", lambda r: r.quality is Quality.GOOD)
            polls_before = len(ha.batches)
            await a.stop()
            r = await ha.until_reading("state", lambda r: r.quality is Quality.BAD, timeout=3)
            after = ha.batches[polls_before:]
            first_bad = next(i for i, b in enumerate(after) if b[0].quality is Quality.BAD)
            assert first_bad <= 1  # bad at the next poll (one may have been in flight)
            assert r.reason in ("disconnected", "comm_timeout", "comm_error", "connect_failed")
            assert ha.state == "disconnected"
            polls_b = len(hb.batches)
            await hb.until(lambda: len(hb.batches) >= polls_b + 5, what="b keeps polling")
            assert all(x.quality is Quality.GOOD for x in hb.batches[-1])
            await ha.until(lambda: sum(s == "disconnected" for s, _ in ha.statuses) >= 3)
            await a.start()
            await ha.until_reading("state", lambda r: r.quality is Quality.GOOD, timeout=3)
            assert da.connects == 2
            assert db.connects == 1
        finally:
            await stop(ta)
            await stop(tb)


async def test_timeouts_reconnect_and_overruns_are_counted(press: ModbusSimulator) -> None:
    dev = press_device(port_of(press), ["state"], poll_interval_ms=50, timeout_ms=500)
    driver = ModbusDriver(dev)
    host, task = await start(driver)
    try:
        await host.until_reading("state", lambda r: r.quality is Quality.GOOD)
        press.server.faults.delay_s = 0.16  # answers, but each poll takes > 3 intervals
        await host.until(lambda: driver.overruns >= 4, what="overruns")
        polls = len(host.batches)
        await host.until(lambda: len(host.batches) >= polls + 3)
        assert host.latest("state").quality is Quality.GOOD  # type: ignore[union-attr]
        press.server.faults.delay_s = 0.0
        press.server.faults.silent = True
        r = await host.until_reading("state", lambda r: r.quality is Quality.BAD)
        assert r.reason == "comm_timeout"
        press.server.faults.silent = False
        await host.until_reading("state", lambda r: r.quality is Quality.GOOD)
        assert driver.connects >= 2
    finally:
        await stop(task)


async def test_quirky_device_limits(press: ModbusSimulator) -> None:
    dev = press_device(
        port_of(press),
        ["state", "cycle_count", "spindle_speed"],
        limits={"one_tag_per_request": True, "reconnect_after_poll": True,
                "pause_between_requests_ms": 5},
    )  # fmt: skip
    driver = ModbusDriver(dev)
    host, task = await start(driver)
    try:
        await host.until(lambda: len(host.batches) >= 4)
        before = press.server.requests
        polls = len(host.batches)
        await host.until(lambda: len(host.batches) >= polls + 10)
        per_poll = (press.server.requests - before) / (len(host.batches) - polls)
        assert 2.5 <= per_poll <= 3.5  # one request per tag
        assert driver.connects >= len(host.batches) - 1  # a fresh connection every poll
    finally:
        await stop(task)


async def test_several_unit_ids_behind_one_gateway_each_isolated() -> None:
    port = free_port()
    cfgs = [
        press_config(port),
        press_config(port, name="press-02", unit_id=2, press={"stroke_rate_spm": 30}),
    ]
    async with ModbusSimulator(cfgs) as gw:
        d1 = ModbusDriver(press_device(port, ["stroke_rate_setpoint", "temperature"]))
        d2 = ModbusDriver(
            press_device(port, ["stroke_rate_setpoint", "temperature"], name="p2", unit_id=2)
        )
        d3 = ModbusDriver(press_device(port, ["stroke_rate_setpoint"], name="p3", unit_id=3))
        (h1, t1), (h2, t2), (h3, t3) = [await start(d) for d in (d1, d2, d3)]
        try:
            await h1.until_reading("stroke_rate_setpoint", lambda r: r.value == 60)
            await h2.until_reading("stroke_rate_setpoint", lambda r: r.value == 30)
            r3 = await h3.until_reading("stroke_rate_setpoint", lambda r: r.quality is Quality.BAD)
            assert r3.reason == "gateway_target_failed_to_respond"
            gw.machine("press-02").set_exception("holding_register", 5, 6)
            r2 = await h2.until_reading("temperature", lambda r: r.quality is Quality.BAD)
            assert r2.reason == "server_device_busy"
            n1 = len(h1.batches)
            await h1.until(lambda: len(h1.batches) >= n1 + 3)
            assert all(r.quality is Quality.GOOD for r in h1.batches[-1])
            gw.machine("press-02").clear_exceptions()
            await d2.write("stroke_rate_setpoint", 45)
            await h2.until_reading("stroke_rate_setpoint", lambda r: r.value == 45)
            assert h1.latest("stroke_rate_setpoint").value == 60  # type: ignore[union-attr]
        finally:
            for t in (t1, t2, t3):
                await stop(t)


async def test_frozen_values_keep_good_quality_but_stop_changing(press: ModbusSimulator) -> None:
    host, task = await start(ModbusDriver(press_device(port_of(press), ["energy"])))
    try:
        await host.until(lambda: len(host.batches) >= 2)
        press.machine("press-01").freeze()
        await host.until(lambda: len(host.batches) >= 4)
        frozen = host.latest("energy").value  # type: ignore[union-attr]
        n = len(host.batches)
        await host.until(lambda: len(host.batches) >= n + 3)
        assert all(b[0].value == frozen for b in host.batches[n:])
    finally:
        await stop(task)


async def test_dropped_connections_reconnect(press: ModbusSimulator) -> None:
    driver = ModbusDriver(press_device(port_of(press), ["state"]))
    host, task = await start(driver)
    try:
        await host.until_reading("state", lambda r: r.quality is Quality.GOOD)
        assert press.server.drop_connections() == 1
        await host.until(lambda: driver.connects == 2, what="reconnected")
        n = len(host.batches)
        await host.until(lambda: len(host.batches) >= n + 2)
        assert host.latest("state").quality is Quality.GOOD  # type: ignore[union-attr]
        assert "disconnected" in [s for s, _ in host.statuses]
    finally:
        await stop(task)
