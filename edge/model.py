"""What every driver produces: readings with a value, a quality and timestamps."""

import math
import time
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


@dataclass(slots=True)
class TelemetryBatch:
    """The readings of one device from one poll (or one subscription publish)."""

    device: str
    readings: list[Reading]
    ts: int = field(default_factory=now_ms)


class BatchSink(Protocol):
    """Where the pipeline hands batches: the northbound queue, or a test's list."""

    def put(self, batch: TelemetryBatch) -> None: ...


def reading_to_json(r: Reading) -> dict[str, Any]:
    """The per-value object of the telemetry contract (docs/contracts.md section 2)."""
    out: dict[str, Any] = {"tag": r.tag, "value": r.value, "quality": r.quality.value, "ts": r.ts}
    if r.unit is not None:
        out["unit"] = r.unit
    if r.reason is not None:
        out["reason"] = r.reason
    if r.quality is not Quality.GOOD and r.last_value is not None:
        out["last_value"] = r.last_value
    if r.stale:
        out["stale"] = True
    return out
