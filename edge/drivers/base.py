"""The driver model: every protocol driver talks to one device and pushes readings to a host.

Everything the rest of the edge knows about a driver is here: the `Driver` it runs, the
`DeviceConfig`/`TagConfig` contract its configuration models meet (what the pipeline and the
writes read) and the `DriverSpec` its folder declares (see edge/drivers/registry.py).
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from edge.model import Reading, ReadingBlock, Value

if TYPE_CHECKING:
    import typer

DeviceState = Literal["connected", "connecting", "disconnected", "degraded"]


class WriteRefused(Exception):
    """A write that the device or the configuration does not allow; the message says why."""


class WriteFailed(WriteRefused):
    """A write the device did not confirm (not connected, no answer, exception response)."""


class DriverHost(Protocol):
    """What the agent gives a driver: where readings and connection state go."""

    def readings(self, readings: Sequence[Reading]) -> None:
        """One poll's (or one subscription publish's) readings of this device."""

    def poll(self, blocks: Sequence[ReadingBlock], readings: Sequence[Reading]) -> None:
        """One poll's readings: the good values of whole read blocks in columns, the others
        (bad, not finite, decoded one by one) as readings. The same as `readings` of all."""

    def status(self, state: DeviceState, error: str | None = None) -> None:
        """The connection state changed."""


class Driver(Protocol):
    """One device. `run` owns the connection: connects, acquires, reconnects with backoff,
    and returns only when cancelled. Device faults never escape `run`: they become readings
    with bad quality and a reason, and a status change."""

    async def run(self, host: DriverHost) -> None: ...

    async def write(self, tag: str, value: Value) -> None:
        """Write one value; raises WriteRefused with the reason."""
        ...


class TagConfig(Protocol):
    """What every driver's tag model offers the pipeline and the writes."""

    @property
    def name(self) -> str: ...
    @property
    def unit(self) -> str | None: ...
    @property
    def scale(self) -> float: ...
    @property
    def offset(self) -> float: ...
    @property
    def deadband(self) -> float | None: ...
    @property
    def deadband_percent(self) -> float | None: ...
    @property
    def max_age_s(self) -> float | None:
        """Heartbeat: republish an unchanged value after this long."""

    @property
    def writable(self) -> bool: ...


class DeviceConfig(Protocol):
    """What every driver's device model (one member of the plant file's `devices[]`) offers."""

    @property
    def name(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def driver(self) -> str:
        """The `driver:` key: picks the model when the plant file is read, and the driver."""

    @property
    def tags(self) -> Sequence[TagConfig]: ...

    def stale_after_ms(self) -> Mapping[str, int | None]:
        """Per tag: how long without a reading before the pipeline flags it stale; None: never
        (values a subscription delivers only when they change)."""


def stale_after_polls(interval_ms: int, timeout_ms: int, attempts: int) -> int:
    """The usual stale period of a polled tag: three polls, at least one poll plus the time a
    slow poll may take (every attempt timing out)."""
    return int(max(3 * interval_ms, interval_ms + 2 * timeout_ms * attempts))


@dataclass(frozen=True)
class Capabilities:
    #: the driver applies each tag's scale/offset itself (the pipeline must not do it twice)
    scales_values: bool = False
    #: devices may deliver values only when they change (subscriptions)
    subscriptions: bool = False
    #: tags may be `writable: true`: `Driver.write` writes them
    writes: bool = False


D = TypeVar("D", bound=DeviceConfig)


@dataclass(frozen=True)
class DriverSpec(Generic[D]):
    """What a driver folder declares about itself in its `__init__.py` (as `DRIVER`).

    `device` must be a pydantic model (config.base.Strict) whose `driver` field is a Literal of
    `names`: it becomes one member of the plant file's `devices[]` union. `create` and `cli`
    should import the driver's I/O modules lazily, so reading the plant file stays cheap.
    """

    names: tuple[str, ...]
    device: type[D]
    tag: type[TagConfig]
    create: Callable[[D, Path], Driver]
    capabilities: Capabilities = Capabilities()
    #: adds the driver's verbs to `shopfloor edge` (e.g. modbus `probe`, opcua `browse`)
    cli: "Callable[[typer.Typer], None] | None" = None

    def describe(self) -> str:
        """The capabilities in words (for the configuration reference)."""
        caps = self.capabilities
        said = [
            f"scale/offset applied by the {'driver' if caps.scales_values else 'pipeline'}",
            "values by subscription (only on change)" if caps.subscriptions else "",
            "writable tags" if caps.writes else "read-only",
        ]
        return "; ".join(s for s in said if s)


AnySpec = DriverSpec[Any]
