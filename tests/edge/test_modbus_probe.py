"""`shopfloor edge probe`: the table (pure) and the command against the simulated press."""

import asyncio
import struct
import subprocess
import sys
from pathlib import Path

from edge.drivers.modbus.probe import probe_table
from simulators.modbus.machine import ModbusSimulator
from simulators.modbus.testing import press_config
from tests.services.ports import free_port

SHOPFLOOR = Path(sys.executable).parent / "shopfloor"


def test_the_table_shows_the_value_in_the_right_column() -> None:
    be = struct.pack(">f", 71.25)
    cdab = [int.from_bytes(be[2:], "big"), int.from_bytes(be[:2], "big")]
    lines = probe_table(40, cdab)
    row = next(line for line in lines if line.startswith("float32"))
    columns = row.split()[1:]
    header = next(lines[i + 1] for i, line in enumerate(lines) if line.startswith("32-bit"))
    assert dict(zip(header.split(), columns, strict=True))["CDAB"] == "71.25"
    assert lines[1].split() == ["40", f"0x{cdab[0]:04X}", str(cdab[0])]
    assert not any(line.startswith("64-bit") for line in lines)  # two registers only


async def test_probe_command_reads_the_press() -> None:
    port = free_port()
    async with ModbusSimulator([press_config(port)]) as sim:
        sim.machine("press-01").freeze()
        temperature = sim.machine("press-01").press.temperature
        done = await asyncio.to_thread(
            subprocess.run,
            [str(SHOPFLOOR), "edge", "probe", "--port", str(port), "--address", "6",
             "--count", "2", "--one-based"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith("float32"))
    cdab = float(row.split()[3])
    assert abs(cdab - temperature) < 1e-3


async def test_probe_reports_a_dead_port_clearly() -> None:
    done = await asyncio.to_thread(
        subprocess.run,
        [str(SHOPFLOOR), "edge", "probe", "--port", str(free_port()), "--timeout-ms", "300"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 1
    assert "probe: connect_failed" in done.stderr


async def test_probe_recommends_the_order_of_a_running_machine_and_admits_zeros() -> None:
    port = free_port()
    async with ModbusSimulator([press_config(port)]):  # running: temperature moves with noise

        def probe(*args: str) -> str:
            done = subprocess.run(
                [str(SHOPFLOOR), "edge", "probe", "--port", str(port), *args,
                 "--reads", "4", "--interval-ms", "100"],
                capture_output=True, text=True, timeout=30, check=False,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            return done.stdout

        temperature = await asyncio.to_thread(probe, "--address", "5", "--count", "2")
        zeros = await asyncio.to_thread(probe, "--address", "100", "--count", "4")
    assert "judged over 4 read(s)" in temperature
    line = next(x for x in temperature.splitlines() if x.startswith("32-bit:"))
    assert line.startswith("32-bit: use order CDAB (as float32), confidence ")
    assert "confidence low" not in line
    line = next(x for x in zeros.splitlines() if x.startswith("32-bit:"))
    assert line == "32-bit: the data cannot tell: every register is 0: any order fits"
