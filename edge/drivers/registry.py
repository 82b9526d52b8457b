"""The driver registry: driver name (the `driver:` key of a device) -> factory.

Adding a protocol touches two places: its folder under edge/drivers/ and one line here.
Factories import their driver lazily, so loading the registry costs nothing.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge.drivers.base import Driver

Factory = Callable[[Any, Path], Driver]


class UnknownDriver(KeyError):
    """A device names a driver this build does not have."""


def _modbus(cfg: Any, state_dir: Path) -> Driver:
    from edge.drivers.modbus.driver import ModbusDriver

    return ModbusDriver(cfg, state_dir)


def _opcua(cfg: Any, state_dir: Path) -> Driver:
    from edge.drivers.opcua.driver import OpcUaDriver

    return OpcUaDriver(cfg, state_dir)


def factories() -> dict[str, Factory]:
    return {"modbus_tcp": _modbus, "modbus_rtu": _modbus, "opcua": _opcua}


def create_driver(device_cfg: Any, state_dir: Path) -> Driver:
    """The driver for one configured device (`device_cfg.driver` picks the factory)."""
    name = device_cfg.driver
    try:
        factory = factories()[name]
    except KeyError:
        known = ", ".join(sorted(factories()))
        raise UnknownDriver(
            f"device {device_cfg.name}: unknown driver {name!r} ({known})"
        ) from None
    return factory(device_cfg, Path(state_dir))
