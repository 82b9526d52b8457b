"""The production behaviour read from the running simulators over real sockets, by the real
drivers: Modbus TCP from the press, OPC UA from the oven. A fast clock (`time_scale`) and dense
rates make every state show up within seconds; the seed makes the sequence repeatable."""

import asyncio
from pathlib import Path
from typing import Any

from edge.drivers.modbus.driver import ModbusDriver
from edge.drivers.opcua.driver import OpcUaDriver
from edge.model import Quality
from simulators.behaviour import MachineState
from simulators.modbus.machine import ModbusSimulator
from simulators.modbus.testing import press_config, press_device
from simulators.opcua.machine import OvenMachine
from simulators.opcua.testing import RecordingHost, oven_config, oven_device
from tests.services.ports import free_port

S = MachineState
#: two minutes of model time per real second; seed 5 shows all six states within ~7 s
FAST: dict[str, Any] = {
    "enabled": True,
    "time_scale": 120,
    "mtbf_s": 300,
    "mttr_s": 60,
    "repair_sigma": 0.2,
    "micro_stops_per_h": 30,
    "micro_stop_min_s": 40,
    "micro_stop_max_s": 60,
    "setup_interval_s": 400,
    "setup_mean_s": 60,
    "setup_sigma": 0.1,
    "recipes": ["BRKT-200", "BRKT-210"],
    "idle_per_h": 10,
    "idle_mean_s": 60,
    "fault_codes": [101, 102],
    "scrap_rate": 0.2,
}
EVERY_STOP = {S.FAULT, S.SETUP, S.MICRO_STOP}


async def test_press_states_codes_and_counts_over_modbus() -> None:
    port = free_port()
    tags = ["state", "fault_code", "good_count", "scrap_count", "cycle_count", "recipe"]
    # every tag in one read (HR 0..44), so each batch is one moment of the press
    device = press_device(port, tags, limits={"max_gap": 50})
    async with ModbusSimulator([press_config(port, seed=5, behaviour=FAST)]):
        host = RecordingHost()
        task = asyncio.create_task(ModbusDriver(device).run(host))
        try:

            def seen() -> set[S]:
                return {S(r.value) for r in host.all("state")}

            await host.until(
                lambda: EVERY_STOP | {S.RUNNING} <= seen() and seen() & {S.STARVED, S.BLOCKED},
                timeout=60,
                what="running, fault, setup, micro-stop and starved/blocked",
            )
            recipes = {r.value for r in host.all("recipe")}
            assert recipes == {"BRKT-200", "BRKT-210"}  # the changeover moved to the next one
            for batch in host.batches:  # one read, one consistent picture
                v = {r.tag: r.value for r in batch if r.quality is Quality.GOOD}
                if "state" not in v:
                    continue
                faulted = v["state"] == S.FAULT
                assert (v["fault_code"] in (101, 102)) if faulted else v["fault_code"] == 0, v
                assert v["cycle_count"] == v["good_count"] + v["scrap_count"], v
            last = {r.tag: r.value for r in host.batches[-1]}
            assert last["good_count"] > 0
            assert last["scrap_count"] > 0
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_oven_states_codes_and_counts_over_opcua(tmp_path: Path) -> None:
    port = free_port()
    tags = [
        {"name": "state", "node_id": "ns=2;s=Oven.MachineState"},
        {"name": "fault_code", "node_id": "ns=2;s=Oven.FaultCode"},
        {"name": "good_count", "node_id": "ns=2;s=Oven.GoodCount"},
        {"name": "scrap_count", "node_id": "ns=2;s=Oven.ScrapCount"},
        {"name": "oven_state", "node_id": "ns=2;s=Oven.State"},
        {"name": "door_open", "node_id": "ns=2;s=Oven.DoorOpen"},
    ]
    async with OvenMachine(oven_config(port, seed=5, behaviour=FAST, update_interval_ms=50)):
        host = RecordingHost()
        driver = OpcUaDriver(oven_device(port, tags=tags), tmp_path)
        task = asyncio.create_task(driver.run(host))
        try:
            await host.until(
                lambda: EVERY_STOP | {S.RUNNING} <= {S(r.value) for r in host.all("state")},
                timeout=60,
                what="running, fault, setup and micro-stop",
            )
            codes = {r.value for r in host.all("fault_code")}
            assert codes - {0}
            assert codes - {0} <= {101, 102}
            assert "FAULT" in {r.value for r in host.all("oven_state")}  # heater off
            assert True in {r.value for r in host.all("door_open")}  # racks changed in a setup
            await host.until(
                lambda: (
                    (g := host.latest("good_count")) is not None
                    and g.value > 0
                    and (s := host.latest("scrap_count")) is not None
                    and s.value > 0
                ),
                what="good and scrap parts",
            )
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
