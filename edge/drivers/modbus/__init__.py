"""Modbus TCP and RTU: what this driver declares about itself (see edge/drivers/registry.py)."""

from pathlib import Path
from typing import TYPE_CHECKING

from edge.drivers.base import Capabilities, Driver, DriverSpec
from edge.drivers.modbus.config import ModbusDevice, ModbusTag

if TYPE_CHECKING:
    import typer


def _create(cfg: ModbusDevice, state_dir: Path) -> Driver:
    from edge.drivers.modbus.driver import ModbusDriver

    return ModbusDriver(cfg, state_dir)


def _cli(app: "typer.Typer") -> None:
    from edge.drivers.modbus import cli

    cli.register(app)  # probe


DRIVER = DriverSpec(
    names=("modbus_tcp", "modbus_rtu"),
    device=ModbusDevice,
    tag=ModbusTag,
    create=_create,
    capabilities=Capabilities(scales_values=True, writes=True),
    cli=_cli,
)
