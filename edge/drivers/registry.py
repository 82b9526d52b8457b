"""The driver registry: which drivers this build has, and everything they declare.

Adding a protocol touches two places: its folder under edge/drivers/ (whose `__init__.py`
declares `DRIVER = DriverSpec(...)`: config and tag models, factory, capabilities, CLI verbs) and
one line in `BUILT_IN` below. The plant schema (`devices[]`), the loader, the pipeline and the
`shopfloor edge` command read everything else from here.
"""

import importlib
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Union, get_args

from pydantic import BaseModel, Field

from edge.drivers.base import AnySpec, DeviceConfig, Driver, DriverSpec

if TYPE_CHECKING:
    import typer

#: the packages of this build's drivers, one line each
BUILT_IN = (
    "edge.drivers.modbus",
    "edge.drivers.opcua",
)


class UnknownDriver(KeyError):
    """A device names a driver this build does not have."""

    def __str__(self) -> str:
        return str(self.args[0])


class DriverRegistry:
    """Driver name (the `driver:` key of a device) -> the spec its folder declares."""

    def __init__(self, specs: Iterable[AnySpec]) -> None:
        self.specs: tuple[AnySpec, ...] = tuple(specs)
        self._by_name: dict[str, AnySpec] = {}
        for spec in self.specs:
            if not (isinstance(spec.device, type) and issubclass(spec.device, BaseModel)):
                raise TypeError(f"driver {spec.names}: the device model must be a pydantic model")
            tags = spec.device.model_fields.get("tags")
            if tags is None or get_args(tags.annotation) != (spec.tag,):
                raise TypeError(
                    f"driver {spec.names}: the device model's `tags` must be a list of "
                    f"{spec.tag.__name__}"
                )
            for name in spec.names:
                if name in self._by_name:
                    raise ValueError(f"two drivers are called {name!r}")
                self._by_name[name] = spec

    def with_driver(self, spec: AnySpec) -> "DriverRegistry":
        """A registry with one more driver (this one is not changed)."""
        return DriverRegistry((*self.specs, spec))

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def spec(self, device: DeviceConfig) -> AnySpec:
        """The spec of the driver a device names; UnknownDriver naming the known ones."""
        try:
            return self._by_name[device.driver]
        except KeyError:
            known = ", ".join(self.names())
            raise UnknownDriver(
                f"device {device.name}: unknown driver {device.driver!r} ({known})"
            ) from None

    def create_driver(self, device: DeviceConfig, state_dir: Path) -> Driver:
        """The driver for one configured device (`device.driver` picks the factory)."""
        spec = self.spec(device)
        if not isinstance(device, spec.device):
            raise TypeError(f"device {device.name}: not a {spec.device.__name__}")
        return spec.create(device, Path(state_dir))

    def device_type(self) -> Any:
        """The type of one `devices[]` entry: the device models, told apart by `driver`."""
        models = tuple(spec.device for spec in self.specs)
        if len(models) == 1:
            return models[0]
        return Annotated[Union[models], Field(discriminator="driver")]  # noqa: UP007

    def register_cli(self, app: "typer.Typer") -> None:
        """Add every driver's verbs to the `shopfloor edge` group."""
        for spec in self.specs:
            if spec.cli is not None:
                spec.cli(app)


def _declared(package: str) -> AnySpec:
    spec = getattr(importlib.import_module(package), "DRIVER", None)
    if not isinstance(spec, DriverSpec):
        raise TypeError(f"{package} declares no DRIVER = DriverSpec(...) in its __init__.py")
    return spec


@cache
def built_in() -> DriverRegistry:
    """This build's drivers (`BUILT_IN`)."""
    return DriverRegistry(_declared(p) for p in BUILT_IN)


def create_driver(device: DeviceConfig, state_dir: Path) -> Driver:
    """The built-in driver for one configured device."""
    return built_in().create_driver(device, state_dir)
