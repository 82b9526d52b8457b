"""Decoding checked against an independent implementation: the old FreeOpcUa `opcua` server.

The server writes known values of every scalar type with a known source timestamp and
status; our driver (asyncua underneath) must read them back exactly, in both modes.
"""

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from opcua import Server, ua

from edge.drivers.opcua.driver import OpcUaDriver
from edge.model import Quality
from simulators.opcua.testing import RecordingHost, oven_device
from tests.services.ports import free_port

SOURCE = datetime(2025, 5, 1, 12, 0, 0, 123000)  # the old library speaks naive UTC
SOURCE_MS = int(SOURCE.replace(tzinfo=UTC).timestamp() * 1000)

# name, variant type, value written, value expected, status written, quality, reason
CASES: list[tuple[str, Any, Any, Any, int, Quality, str | None]] = [
    ("double", ua.VariantType.Double, 21.5, 21.5, 0, Quality.GOOD, None),
    ("float", ua.VariantType.Float, 1.25, 1.25, 0, Quality.GOOD, None),
    ("int16", ua.VariantType.Int16, -5, -5, 0, Quality.GOOD, None),
    ("uint16", ua.VariantType.UInt16, 65535, 65535, 0, Quality.GOOD, None),
    ("int32", ua.VariantType.Int32, -(2**31), -(2**31), 0, Quality.GOOD, None),
    ("uint32", ua.VariantType.UInt32, 2**32 - 1, 2**32 - 1, 0, Quality.GOOD, None),
    ("int64", ua.VariantType.Int64, -(2**63), -(2**63), 0, Quality.GOOD, None),
    ("uint64", ua.VariantType.UInt64, 2**64 - 1, 2**64 - 1, 0, Quality.GOOD, None),
    ("sbyte", ua.VariantType.SByte, -128, -128, 0, Quality.GOOD, None),
    ("byte", ua.VariantType.Byte, 255, 255, 0, Quality.GOOD, None),
    ("flag", ua.VariantType.Boolean, True, True, 0, Quality.GOOD, None),
    ("text", ua.VariantType.String, "Öfen läuft", "Öfen läuft", 0, Quality.GOOD, None),
    (
        "when",
        ua.VariantType.DateTime,
        datetime(2025, 1, 2, 3, 4, 5),
        1735787045000,
        0,
        Quality.GOOD,
        None,
    ),
    (
        "label",
        ua.VariantType.LocalizedText,
        ua.LocalizedText("Ofen 1"),
        "Ofen 1",
        0,
        Quality.GOOD,
        None,
    ),
    ("blob", ua.VariantType.ByteString, b"\x00\x01\xfe", "0001fe", 0, Quality.GOOD, None),
    (
        "failed",
        ua.VariantType.Double,
        3.0,
        None,
        ua.StatusCodes.BadSensorFailure,
        Quality.BAD,
        "BadSensorFailure",
    ),
    (
        "stale",
        ua.VariantType.Double,
        4.5,
        4.5,
        ua.StatusCodes.UncertainLastUsableValue,
        Quality.UNCERTAIN,
        "UncertainLastUsableValue",
    ),
]


@pytest.fixture(scope="module")
def old_server() -> Iterator[tuple[Server, int]]:
    port = free_port()
    server = Server()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/old")
    idx = server.register_namespace("urn:shopfloor:test:old")
    obj = server.get_objects_node().add_object(ua.NodeId("Dev", idx), "Dev")
    for name, vtype, value, _, status, _, _ in CASES:
        var = obj.add_variable(ua.NodeId(f"Dev.{name}", idx), name, ua.Variant(value, vtype))
        dv = ua.DataValue(ua.Variant(value, vtype))
        dv.SourceTimestamp = SOURCE
        dv.StatusCode = ua.StatusCode(status)
        var.set_value(dv)
    setpoint = obj.add_variable(
        ua.NodeId("Dev.setpoint", idx), "setpoint", ua.Variant(0, ua.VariantType.UInt16)
    )
    setpoint.set_writable()
    server.start()
    yield server, port
    server.stop()


def _device(port: int, mode: str) -> Any:
    tags = [{"name": c[0], "node_id": f"ns=2;s=Dev.{c[0]}"} for c in CASES]
    tags.append({"name": "setpoint", "node_id": "ns=2;s=Dev.setpoint", "writable": True})
    return oven_device(port, name="old-01", mode=mode, tags=tags).model_copy(
        update={"endpoint": f"opc.tcp://127.0.0.1:{port}/old"}
    )


@pytest.mark.parametrize("mode", ["subscription", "poll"])
async def test_every_scalar_type_decodes_like_the_old_library_wrote_it(
    old_server: tuple[Server, int], tmp_path: Path, mode: str
) -> None:
    server, port = old_server
    host = RecordingHost()
    driver = OpcUaDriver(_device(port, mode), tmp_path)
    task = asyncio.create_task(driver.run(host))
    names = {c[0] for c in CASES}
    await host.until(lambda: names <= {r.tag for r in host.all()}, what="every case")
    for name, _, _, expected, _, quality, reason in CASES:
        r = host.latest(name)
        assert r is not None
        assert (r.value, r.quality, r.reason) == (expected, quality, reason), name
        assert type(r.value) is type(expected), name
        assert r.ts == SOURCE_MS, name

    await driver.write("setpoint", 1234)
    node = server.get_node(ua.NodeId("Dev.setpoint", 2))
    assert node.get_value() == 1234
    assert node.get_data_type_as_variant_type() == ua.VariantType.UInt16
    await host.until_reading("setpoint", lambda r: r.value == 1234, timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
