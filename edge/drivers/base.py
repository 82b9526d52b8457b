"""The driver model: every protocol driver talks to one device and pushes readings to a host."""

from collections.abc import Sequence
from typing import Literal, Protocol

from edge.model import Reading, Value

DeviceState = Literal["connected", "connecting", "disconnected", "degraded"]


class WriteRefused(Exception):
    """A write that the device or the configuration does not allow; the message says why."""


class WriteFailed(WriteRefused):
    """A write the device did not confirm (not connected, no answer, exception response)."""


class DriverHost(Protocol):
    """What the agent gives a driver: where readings and connection state go."""

    def readings(self, readings: Sequence[Reading]) -> None:
        """One poll's (or one subscription publish's) readings of this device."""

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
