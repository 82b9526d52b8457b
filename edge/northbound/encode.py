"""Payloads of the northbound contract (docs/contracts.md sections 1-3) as bytes. No I/O."""

from collections.abc import Sequence
from typing import Any

import orjson

from edge.model import (
    Quality,
    Reading,
    ReadingBlock,
    TelemetryBatch,
    now_ms,
    quality_fields,
    reading_to_json,
)


def _block_values(b: ReadingBlock) -> list[dict[str, Any]]:
    """The per-value objects of a block's good values (what `reading_to_json` gives them)."""
    ts = b.ts
    return [
        {"tag": t, "value": v, "quality": "good", "ts": ts}
        if u is None
        else {"tag": t, "value": v, "quality": "good", "ts": ts, "unit": u}
        for t, v, u in zip(b.tags, b.values, b.units, strict=True)
    ]


def _values(batch: TelemetryBatch) -> list[dict[str, Any]]:
    """`reading_to_json` of every value (the blocks' first), with good plain readings (nearly
    all of them) built inline: the same keys in the same order, so the same bytes, without a
    call per value."""
    out: list[dict[str, Any]] = []
    for b in batch.blocks:
        out.extend(_block_values(b))
    out.extend(_reading_values(batch.readings))
    return out


def _reading_values(readings: list[Reading]) -> list[dict[str, Any]]:
    good = Quality.GOOD
    return [
        (
            {"tag": r.tag, "value": r.value, "quality": "good", "ts": r.ts}
            if r.unit is None
            else {"tag": r.tag, "value": r.value, "quality": "good", "ts": r.ts, "unit": r.unit}
        )
        if r.quality is good and r.reason is None and not r.stale
        else reading_to_json(r)
        for r in readings
    ]


def telemetry_payload(agent: str, batch: TelemetryBatch, seq: int) -> bytes:
    """One `_telemetry` message: all readings of one poll of one device."""
    return orjson.dumps(
        {
            "v": 1,
            "agent": agent,
            "device": batch.device,
            "seq": seq,
            "ts": batch.ts,
            "values": _values(batch),
        }
    )


def _mark(i: int, r: Reading) -> dict[str, Any] | None:
    """What the compact form says about a value besides tag, value, time and unit: None for a
    plain good value, else its index and the fields of `reading_to_json` that are not good."""
    if r.quality is Quality.GOOD and r.reason is None and not r.stale:
        return None
    return quality_fields(r, {"i": i, "quality": r.quality.value})


def compact_payload(agent: str, batch: TelemetryBatch, seq: int) -> bytes:
    """One `_telemetry/compact` message (docs/contracts.md section 2b): the same values as
    `telemetry_payload`, in columns. `tags`, `values` (and `units`, only when some value has
    one) are parallel arrays; `times` gives the timestamps as runs `[ts, count]` in value order
    (one run per read block); `marks` lists only the values that are not plainly good."""
    tags: list[str] = []
    values: list[Any] = []
    units: list[str | None] = []
    times: list[list[int]] = []
    for b in batch.blocks:
        n = len(b.tags)
        tags.extend(b.tags)
        values.extend(b.values)
        units.extend(b.units)
        if times and times[-1][0] == b.ts:
            times[-1][1] += n
        else:
            times.append([b.ts, n])
    marks: list[dict[str, Any]] = []
    for r in batch.readings:
        m = _mark(len(tags), r)
        if m is not None:
            marks.append(m)
        tags.append(r.tag)
        values.append(r.value)
        units.append(r.unit)
        if times and times[-1][0] == r.ts:
            times[-1][1] += 1
        else:
            times.append([r.ts, 1])
    out: dict[str, Any] = {
        "v": 1,
        "format": "compact",
        "agent": agent,
        "device": batch.device,
        "seq": seq,
        "ts": batch.ts,
        "tags": tags,
        "values": values,
        "times": times,
    }
    if units.count(None) != len(units):
        out["units"] = units
    if marks:
        out["marks"] = marks
    return orjson.dumps(out)


def tag_payloads(batch: TelemetryBatch) -> list[tuple[str, bytes]]:
    """The optional retained per-tag messages: `(tag, {"value", "quality", "ts"})`."""
    return [
        (
            r.tag,
            orjson.dumps({"v": 1, "value": r.value, "quality": r.quality.value, "ts": r.ts}),
        )
        for r in batch.all_readings()
    ]


def device_status_payload(device: str, state: str, since: int, error: str | None) -> bytes:
    out: dict[str, Any] = {"v": 1, "device": device, "state": state, "since": since}
    if error is not None:
        out["error"] = error
    return orjson.dumps(out)


def agent_status_payload(
    agent: str, online: bool, devices: Sequence[str], since: int | None = None
) -> bytes:
    return orjson.dumps(
        {
            "v": 1,
            "agent": agent,
            "online": online,
            "since": now_ms() if since is None else since,
            "devices": list(devices),
        }
    )


def write_result_payload(result: dict[str, Any]) -> bytes:
    return orjson.dumps({"v": 1, **result})
