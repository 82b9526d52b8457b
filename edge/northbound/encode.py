"""Payloads of the northbound contract (CONTRACTS.md sections 1-3) as bytes. No I/O."""

from collections.abc import Sequence
from typing import Any

import orjson

from edge.model import TelemetryBatch, now_ms, reading_to_json


def telemetry_payload(agent: str, batch: TelemetryBatch, seq: int) -> bytes:
    """One `_telemetry` message: all readings of one poll of one device."""
    return orjson.dumps(
        {
            "v": 1,
            "agent": agent,
            "device": batch.device,
            "seq": seq,
            "ts": batch.ts,
            "values": [reading_to_json(r) for r in batch.readings],
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
