"""OPC UA: what this driver declares about itself (see edge/drivers/registry.py)."""

from pathlib import Path
from typing import TYPE_CHECKING

from edge.drivers.base import Capabilities, Driver, DriverSpec
from edge.drivers.opcua.config import OpcUaDevice, OpcUaTag

if TYPE_CHECKING:
    import typer


def _create(cfg: OpcUaDevice, state_dir: Path) -> Driver:
    from edge.drivers.opcua.driver import OpcUaDriver

    return OpcUaDriver(cfg, state_dir)


def _cli(app: "typer.Typer") -> None:
    from edge.drivers.opcua import cli

    cli.register(app)  # browse, trust


DRIVER = DriverSpec(
    names=("opcua",),
    device=OpcUaDevice,
    tag=OpcUaTag,
    create=_create,
    capabilities=Capabilities(subscriptions=True, writes=True),
    cli=_cli,
)
