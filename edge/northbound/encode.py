"""Payloads of the northbound contract (docs/contracts.md sections 1-3) as bytes. No I/O."""

from collections.abc import Sequence
from typing import Any

import orjson

from edge.model import Quality, Reading, TelemetryBatch, now_ms, reading_to_json


def _values(readings: list[Reading]) -> list[dict[str, Any]]:
    """`reading_to_json` of every reading, with good plain readings (nearly all of them) built
    inline: the same keys in the same order, so the same bytes, without a call per value."""
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
            "values": _values(batch.readings),
        }
    )


def tag_payloads(batch: TelemetryBatch) -> list[tuple[str, bytes]]:
    """The optional retained per-tag messages: `(tag, {"value", "quality", "ts"})`."""
    return [
        (
            r.tag,
            orjson.dumps({"v": 1, "value": r.value, "quality": r.quality.value, "ts": r.ts}),
        )
        for r in batch.readings
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
