"""Helpers for tests and benchmarks that run the Modbus driver against the simulated press.

async with ModbusSimulator([press_config(port)]) as sim:
    driver = ModbusDriver(press_device(port))
"""

from collections.abc import Sequence
from typing import Any

from edge.drivers.modbus.config import ModbusDevice
from simulators.config import ModbusMachineConfig
from simulators.modbus.registers import PRESS_MAP


def press_config(port: int, **overrides: Any) -> ModbusMachineConfig:
    data: dict[str, Any] = {
        "kind": "modbus",
        "name": "press-01",
        "port": port,
        "update_interval_ms": 50,
        "seed": 1,
    }
    data.update(overrides)
    return ModbusMachineConfig.model_validate(data)


def press_tags(names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The press's registers as plant-config tags (all of them, or the named ones)."""
    return [r.tag() for r in PRESS_MAP if names is None or r.name in names]


def press_device(
    port: int | None = None, tags: Sequence[str] | None = None, **overrides: Any
) -> ModbusDevice:
    """A `modbus_tcp` device config for the press on 127.0.0.1:`port` (or pass `driver` and
    `connection` for RTU)."""
    data: dict[str, Any] = {
        "name": "press-01",
        "path": "stamping/line1/cell1",
        "driver": "modbus_tcp",
        "connection": {"host": "127.0.0.1", "port": port},
        "poll_interval_ms": 100,
        "timeout_ms": 300,
        "retries": 0,
        "reconnect_min_ms": 50,
        "reconnect_max_ms": 400,
        "tags": press_tags(tags),
    }
    data.update(overrides)
    return ModbusDevice.model_validate(data)
