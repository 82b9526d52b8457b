"""Decoding checked against independent implementations: values laid out by hand with `struct`
in a pyModBusTCP server (every byte/word order), and written by Debian's `mbpoll`."""

import asyncio
import shutil
import struct
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from pyModbusTCP.server import ModbusServer

from edge.drivers.modbus.config import ModbusDevice
from edge.drivers.modbus.driver import ModbusDriver
from edge.model import Quality
from simulators.modbus.machine import ModbusSimulator
from simulators.modbus.testing import press_config
from simulators.opcua.testing import RecordingHost
from tests.services.ports import free_port


def words(data: bytes) -> list[int]:
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def wire(be: bytes, order: str) -> bytes:
    """Big-endian bytes as a device with `order` sends them, spelled out per order."""
    if order in ("ABCD", "ABCDEFGH", "AB"):
        return be
    if order in ("DCBA", "HGFEDCBA", "BA"):
        return be[::-1]
    if order in ("BADC", "BADCFEHG"):
        return b"".join(bytes((be[i + 1], be[i])) for i in range(0, len(be), 2))
    if order in ("CDAB", "GHEFCDAB"):
        return b"".join(be[i : i + 2] for i in range(len(be) - 2, -1, -2))
    raise AssertionError(order)


# (type, struct format, value, orders)
CASES: list[tuple[str, str, Any, tuple[str, ...]]] = [
    ("int16", ">h", -12345, ("AB", "BA")),
    ("uint16", ">H", 54321, ("AB", "BA")),
    ("int32", ">i", -1_234_567_890, ("ABCD", "BADC", "CDAB", "DCBA")),
    ("uint32", ">I", 3_456_789_012, ("ABCD", "BADC", "CDAB", "DCBA")),
    ("float32", ">f", -273.5, ("ABCD", "BADC", "CDAB", "DCBA")),
    ("int64", ">q", -9_000_000_000_123, ("ABCDEFGH", "BADCFEHG", "GHEFCDAB", "HGFEDCBA")),
    ("uint64", ">Q", 18_000_000_000_000_000_001, ("ABCDEFGH", "BADCFEHG", "GHEFCDAB", "HGFEDCBA")),
    ("float64", ">d", 6.02214076e23, ("ABCDEFGH", "BADCFEHG", "GHEFCDAB", "HGFEDCBA")),
]


@pytest.fixture
def peer() -> Iterator[tuple[ModbusServer, int, list[dict[str, Any]], dict[str, Any]]]:
    """A pyModbusTCP server holding every case at its own address."""
    port = free_port()
    server = ModbusServer("127.0.0.1", port, no_block=True)
    tags: list[dict[str, Any]] = []
    expected: dict[str, Any] = {}
    address = 0
    for type_, fmt, value, orders in CASES:
        for order in orders:
            regs = words(wire(struct.pack(fmt, value), order))
            server.data_bank.set_holding_registers(address, regs)
            name = f"{type_}_{order}"
            tags.append({"name": name, "address": address, "type": type_, "order": order})
            expected[name] = value
            address += len(regs)
    server.data_bank.set_holding_registers(200, words(b"LOT-42\x00\x00"))
    tags.append({"name": "lot", "address": 200, "type": "string", "length": 4})
    expected["lot"] = "LOT-42"
    server.data_bank.set_holding_registers(210, [0b1000_0000_0000_0100])
    tags += [
        {"name": "bit2", "address": 210, "type": "bit", "bit": 2},
        {"name": "bit15", "address": 210, "type": "bit", "bit": 15},
        {"name": "bit3", "address": 210, "type": "bit", "bit": 3},
    ]
    expected |= {"bit2": True, "bit15": True, "bit3": False}
    server.data_bank.set_input_registers(5, [1234])  # register 6 of a 1-based device
    tags.append({"name": "scaled", "area": "input_register", "address": 6, "scale": 0.1,
                 "offset": 10.0, "type": "int16"})  # fmt: skip
    expected["scaled"] = pytest.approx(133.4)
    server.data_bank.set_coils(7, [True])  # coil 8 of a 1-based device
    tags.append({"name": "coil7", "area": "coil", "address": 8, "type": "bool"})
    expected["coil7"] = True
    tags.append({"name": "setpoint", "address": 301, "type": "float32", "order": "CDAB",
                 "writable": True})  # fmt: skip
    server.start()
    try:
        yield server, port, tags, expected
    finally:
        server.stop()


def device(port: int, tags: list[dict[str, Any]], addressing: int = 0) -> ModbusDevice:
    return ModbusDevice.model_validate(
        {
            "name": "peer",
            "path": "a/b/c",
            "driver": "modbus_tcp",
            "connection": {"host": "127.0.0.1", "port": port},
            "poll_interval_ms": 100,
            "addressing": addressing,
            "tags": tags,
        }
    )


async def test_every_type_and_order_against_pymodbustcp(peer: Any) -> None:
    server, port, tags, expected = peer
    zero_based = [t for t in tags if t["name"] not in ("scaled", "coil7", "setpoint")]
    one_based = [t for t in tags if t["name"] in ("scaled", "coil7", "setpoint")]
    d0, d1 = ModbusDriver(device(port, zero_based)), ModbusDriver(device(port, one_based, 1))
    h0, h1 = RecordingHost(), RecordingHost()
    tasks = [asyncio.create_task(d0.run(h0)), asyncio.create_task(d1.run(h1))]
    try:
        await h0.until(lambda: len(h0.batches) >= 1, what="first poll")
        await h1.until(lambda: len(h1.batches) >= 1, what="first poll")
        got = {r.tag: r for r in h0.batches[-1] + h1.batches[-1]}
        for name, value in expected.items():
            assert got[name].quality is Quality.GOOD, name
            assert got[name].value == value, name
        await d1.write("setpoint", 180.25)
        raw = server.data_bank.get_holding_registers(300, 2)  # 1-based 301 -> protocol 300
        be = struct.pack(">HH", raw[1], raw[0])  # CDAB: the low word first
        assert struct.unpack(">f", be)[0] == 180.25
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@pytest.mark.skipif(shutil.which("mbpoll") is None, reason="needs mbpoll")
async def test_values_written_by_mbpoll_decode_in_its_word_orders() -> None:
    port = free_port()
    async with ModbusSimulator([press_config(port)]):
        # mbpoll writes 32-bit values with the low word first by default, high word first with -B
        for args, value in (
            (["-t", "4:float", "-r", "200"], "-12.75"),
            (["-t", "4:float", "-B", "-r", "202"], "-12.75"),
            (["-t", "4:int", "-r", "204"], "-70000"),
            (["-t", "4:int", "-B", "-r", "206"], "-70000"),
        ):
            cmd = ["mbpoll", "-m", "tcp", "-a", "1", "-0", "-p", str(port), *args, "127.0.0.1"]
            done = await asyncio.to_thread(
                subprocess.run, [*cmd, "--", value], capture_output=True, timeout=10
            )
            assert done.returncode == 0, done.stdout + done.stderr
        tags = [
            {"name": "f_cdab", "address": 200, "type": "float32", "order": "CDAB"},
            {"name": "f_abcd", "address": 202, "type": "float32", "order": "ABCD"},
            {"name": "i_cdab", "address": 204, "type": "int32", "order": "CDAB"},
            {"name": "i_abcd", "address": 206, "type": "int32"},
        ]
        host = RecordingHost()
        task = asyncio.create_task(ModbusDriver(device(port, tags)).run(host))
        try:
            await host.until(lambda: len(host.batches) >= 1)
            got = {r.tag: r.value for r in host.batches[-1]}
            assert got == {"f_cdab": -12.75, "f_abcd": -12.75, "i_cdab": -70000, "i_abcd": -70000}
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
