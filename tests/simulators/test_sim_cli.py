"""`shopfloor sim run -c FILE`: serves the machines of the file until SIGTERM."""

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from pymodbus.client import AsyncModbusTcpClient

from config.loader import load_plant
from edge.drivers.modbus.config import ModbusDevice, ModbusTcpConnection
from simulators.config import (
    ModbusMachineConfig,
    SimulatorConfigError,
    load_simulators,
)
from simulators.modbus.registers import press_register
from simulators.opcua.config import OpcUaMachineConfig
from simulators.opcua.machine import OvenMachine
from tests.services.ports import free_port, port_open, wait_for

ROOT = Path(__file__).resolve().parents[2]
SHOPFLOOR = Path(sys.executable).parent / "shopfloor"


def test_shipped_simulator_file_matches_the_plant_file() -> None:
    sims = load_simulators(ROOT / "config" / "simulators.yaml")
    plant = load_plant(ROOT / "config" / "plant.yaml")
    machines = {m.name: m for m in sims.machines}
    for dev in plant.devices:
        assert dev.name in machines, f"no simulated machine for {dev.name}"
        machine = machines[dev.name]
        if isinstance(dev, ModbusDevice):
            assert isinstance(machine, ModbusMachineConfig)
            assert isinstance(dev.connection, ModbusTcpConnection)
            assert (dev.connection.port, dev.unit_id) == (machine.port, machine.unit_id)
            for tag in dev.tags:
                reg = press_register(tag.name)
                assert (reg.area, reg.address, reg.type) == (tag.area, tag.address, tag.type)
                assert reg.order == tag.order, tag.name
        else:
            assert isinstance(machine, OpcUaMachineConfig)
            assert machine.endpoint == dev.endpoint  # type: ignore[union-attr]
            oven = OvenMachine(machine)
            served = {oven.node_id(n) for n in oven.variable_names()}
            for tag in dev.tags:
                assert tag.node_id in served, tag.name  # type: ignore[union-attr]


def test_bad_simulator_file_names_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "sims.yaml"
    bad.write_text("version: 1\nmachines:\n  - {kind: modbus, port: 70000}\n")
    with pytest.raises(SimulatorConfigError, match=r"sims.yaml: machines\[0\].port"):
        load_simulators(bad)
    clash = tmp_path / "clash.yaml"
    clash.write_text(
        "version: 1\nmachines:\n  - {kind: modbus, name: a, port: 1502}\n"
        "  - {kind: modbus, name: b, port: 1502}\n"
    )
    with pytest.raises(SimulatorConfigError, match=r"answer unit 1 on 127\.0\.0\.1:1502"):
        load_simulators(clash)
    done = subprocess.run(
        [str(SHOPFLOOR), "sim", "run", "-c", str(bad)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert "machines[0].port" in done.stderr


async def test_sim_run_serves_a_gateway_until_sigterm(tmp_path: Path) -> None:
    port = free_port()
    cfg = tmp_path / "sims.yaml"
    cfg.write_text(
        "version: 1\nmachines:\n"
        f"  - {{kind: modbus, name: p1, port: {port}, unit_id: 1}}\n"
        f"  - {{kind: modbus, name: p2, port: {port}, unit_id: 2,"
        " press: {stroke_rate_spm: 30}}\n"
    )
    proc = subprocess.Popen(
        [str(SHOPFLOOR), "sim", "run", "-c", str(cfg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        await asyncio.to_thread(wait_for, lambda: port_open(port), 20, "sim run port")
        client = AsyncModbusTcpClient("127.0.0.1", port=port)
        await client.connect()
        addr = press_register("stroke_rate_setpoint").address
        r1 = await client.read_holding_registers(addr, count=1, device_id=1)
        r2 = await client.read_holding_registers(addr, count=1, device_id=2)
        client.close()
        assert (r1.registers, r2.registers) == ([60], [30])
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.to_thread(proc.communicate, timeout=20)
    assert proc.returncode == 0, out
    assert b"stopped" in out


async def test_sim_run_dispatches_opcua_machines_too(tmp_path: Path) -> None:
    modbus_port, opcua_port = free_port(), free_port()
    cfg = tmp_path / "sims.yaml"
    cfg.write_text(
        "version: 1\nmachines:\n"
        f"  - {{kind: modbus, name: press-01, port: {modbus_port}}}\n"
        f"  - {{kind: opcua, name: oven-01, fault_proxy: false,"
        f" endpoint: 'opc.tcp://127.0.0.1:{opcua_port}/shopfloor/oven',"
        f" security: {{pki_dir: '{tmp_path / 'pki'}'}}}}\n"
    )
    proc = subprocess.Popen(
        [str(SHOPFLOOR), "sim", "run", "-c", str(cfg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        await asyncio.to_thread(
            wait_for, lambda: port_open(modbus_port) and port_open(opcua_port), 30, "both ports"
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.to_thread(proc.communicate, timeout=30)
    assert proc.returncode == 0, out
