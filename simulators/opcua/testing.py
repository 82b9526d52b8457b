"""Helpers for tests that run the OPC UA driver against the simulated oven.

host = RecordingHost()
task = asyncio.create_task(OpcUaDriver(device, tmp_path).run(host))
await host.until(lambda: host.latest("temperature") is not None, what="first value")
"""

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from edge.drivers.base import DeviceState
from edge.drivers.opcua.config import OpcUaDevice
from edge.model import Reading, ReadingBlock
from simulators.opcua.config import OpcUaMachineConfig


class RecordingHost:
    """A DriverHost that keeps everything and lets a test wait on a condition."""

    def __init__(self) -> None:
        self.batches: list[list[Reading]] = []
        self.statuses: list[tuple[DeviceState, str | None]] = []
        self._changed = asyncio.Event()

    def readings(self, readings: Sequence[Reading]) -> None:
        self.batches.append(list(readings))
        self._changed.set()

    def poll(self, blocks: Sequence[ReadingBlock], readings: Sequence[Reading]) -> None:
        self.readings([r for b in blocks for r in b.readings()] + list(readings))

    def status(self, state: DeviceState, error: str | None = None) -> None:
        self.statuses.append((state, error))
        self._changed.set()

    @property
    def state(self) -> DeviceState | None:
        return self.statuses[-1][0] if self.statuses else None

    def all(self, tag: str | None = None) -> list[Reading]:
        return [r for b in self.batches for r in b if tag is None or r.tag == tag]

    def latest(self, tag: str) -> Reading | None:
        for batch in reversed(self.batches):
            for r in reversed(batch):
                if r.tag == tag:
                    return r
        return None

    def count(self) -> int:
        return sum(len(b) for b in self.batches)

    async def until(
        self, cond: Callable[[], Any], timeout: float = 10.0, what: str = "condition"
    ) -> None:
        """Wait until `cond()` is truthy, re-checking after each reading or status."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not cond():
            self._changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            try:
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.25))
            except TimeoutError:
                continue  # re-check: conditions may also depend on time or the machine

    async def until_reading(
        self, tag: str, cond: Callable[[Reading], Any], timeout: float = 10.0, what: str = ""
    ) -> Reading:
        """Wait until the latest reading of `tag` satisfies `cond`; returns that reading."""
        await self.until(
            lambda: (r := self.latest(tag)) is not None and cond(r),
            timeout,
            what or f"a matching reading of {tag}",
        )
        found = self.latest(tag)
        assert found is not None
        return found


def oven_config(port: int, **overrides: Any) -> OpcUaMachineConfig:
    """A fast-updating simulated oven on 127.0.0.1:`port`."""
    data: dict[str, Any] = {
        "kind": "opcua",
        "endpoint": f"opc.tcp://127.0.0.1:{port}/shopfloor/oven",
        "update_interval_ms": 100,
        "seed": 1,
    }
    data.update(overrides)
    return OpcUaMachineConfig.model_validate(data)


OVEN_TAGS: list[dict[str, Any]] = [
    {"name": "temperature", "node_id": "ns=2;s=Oven.Temperature", "unit": "degC"},
    {
        "name": "setpoint",
        "node_id": "ns=2;s=Oven.Setpoint",
        "unit": "degC",
        "writable": True,
        "limits": {"min": 0, "max": 300},
    },
    {"name": "door_open", "node_id": "ns=2;s=Oven.DoorOpen"},
    {"name": "state", "node_id": "ns=2;s=Oven.State"},
    {"name": "batch_count", "node_id": "ns=2;s=Oven.BatchCount"},
]


def oven_device(port: int, **overrides: Any) -> OpcUaDevice:
    """The plant config's oven-01, pointed at a simulator on `port`, with quick timings."""
    data: dict[str, Any] = {
        "name": "oven-01",
        "path": "finishing/line1/oven1",
        "driver": "opcua",
        "endpoint": f"opc.tcp://127.0.0.1:{port}/shopfloor/oven",
        "publishing_interval_ms": 50,
        "poll_interval_ms": 100,
        "timeout_ms": 1000,
        "watchdog_interval_ms": 300,
        "reconnect_min_ms": 100,
        "reconnect_max_ms": 1000,
        "tags": OVEN_TAGS,
    }
    data.update(overrides)
    return OpcUaDevice.model_validate(data)
