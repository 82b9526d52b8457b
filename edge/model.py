"""What every driver produces: readings with a value, a quality and timestamps."""

import math
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class Quality(StrEnum):
    GOOD = "good"
    UNCERTAIN = "uncertain"
    BAD = "bad"


Value = float | int | bool | str | None


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class Reading:
    """One value of one tag, as acquired.

    `ts` is the source timestamp when the device gives one (OPC UA), else the acquisition time;
    `acquired_ms` is always the acquisition time.
    """

    tag: str
    value: Value
    quality: Quality
    ts: int
    acquired_ms: int
    reason: str | None = None
    unit: str | None = None
    last_value: Value = None
    stale: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.value, float) and not math.isfinite(self.value):
            self.value = None
            self.quality = Quality.BAD
            self.reason = "not_finite"


@dataclass(frozen=True, slots=True)
class ReadingBlock:
    """Good readings of one read block, in columns: what a driver decodes from one block at
    once (one `struct` call), without an object per value.

    Every value is good, finite and has no reason; all share `ts` (source = acquisition time).
    `tags` and `units` are the driver's own tuples, the same objects at every poll (the
    pipeline caches per block on them). A value that is not plainly good travels as a
    `Reading` next to the blocks instead.
    """

    tags: tuple[str, ...]
    values: Sequence[Value]
    ts: int
    units: tuple[str | None, ...]

    def readings(self, only: Collection[str] | None = None) -> list[Reading]:
        """The block as one `Reading` per value (for observers and per-value consumers); with
        `only`, of those tags only."""
        ts, good = self.ts, Quality.GOOD
        return [
            Reading(t, v, good, ts, ts, None, u)
            for t, v, u in zip(self.tags, self.values, self.units, strict=True)
            if only is None or t in only
        ]


@dataclass(slots=True)
class TelemetryBatch:
    """The readings of one device from one poll (or one subscription publish): good values of
    whole read blocks in `blocks` (columns), every other value in `readings`."""

    device: str
    readings: list[Reading]
    ts: int = field(default_factory=now_ms)
    blocks: list[ReadingBlock] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many values the batch carries."""
        return len(self.readings) + sum(len(b.tags) for b in self.blocks)

    def all_readings(self) -> list[Reading]:
        """Every value as a `Reading`: the blocks' first, then the others."""
        out = [r for b in self.blocks for r in b.readings()]
        out.extend(self.readings)
        return out


class BatchSink(Protocol):
    """Where the pipeline hands batches: the northbound queue, or a test's list."""

    def put(self, batch: TelemetryBatch) -> None: ...


def reading_to_json(r: Reading) -> dict[str, Any]:
    """The per-value object of the telemetry contract (docs/contracts.md section 2)."""
    out: dict[str, Any] = {"tag": r.tag, "value": r.value, "quality": r.quality.value, "ts": r.ts}
    if r.unit is not None:
        out["unit"] = r.unit
    return quality_fields(r, out)


def quality_fields(r: Reading, out: dict[str, Any]) -> dict[str, Any]:
    """Adds to `out` what the contract says about a value that is not plainly good (reason,
    last good value, stale), in the contract's key order."""
    if r.reason is not None:
        out["reason"] = r.reason
    if r.quality is not Quality.GOOD and r.last_value is not None:
        out["last_value"] = r.last_value
    if r.stale:
        out["stale"] = True
    return out
