"""Pure conversions between OPC UA data and our readings: no sockets, no sessions.

- StatusCode -> quality: the two severity bits decide (00 good, 01 uncertain, 10/11 bad);
  the reason is the status name without its info bits (e.g. "BadSensorFailure").
- Variant value -> reading value: numbers, booleans and strings pass; text-like types
  (LocalizedText, QualifiedName, NodeId, Guid) become strings; DateTime becomes epoch ms;
  ByteString becomes hex; arrays and structures are refused (bad, "unsupported_type:...").
- Readings stay raw: scale/offset belong to the per-tag pipeline (edge/pipeline), which
  applies them for OPC UA tags. Writes arrive in engineering units: they undo scale/offset
  and are checked against the node's data type before anything goes on the wire.
"""

import math
import uuid
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from asyncua import ua
from asyncua.ua.status_codes import code_to_name_doc

from edge.model import Quality, Reading, Value

_SEVERITY_MASK = 0xC0000000
_CODE_MASK = 0xFFFF0000

#: Integer variant types and their inclusive ranges, for checking writes.
INT_RANGES: dict[str, tuple[int, int]] = {
    "SByte": (-(2**7), 2**7 - 1),
    "Byte": (0, 2**8 - 1),
    "Int16": (-(2**15), 2**15 - 1),
    "UInt16": (0, 2**16 - 1),
    "Int32": (-(2**31), 2**31 - 1),
    "UInt32": (0, 2**32 - 1),
    "Int64": (-(2**63), 2**63 - 1),
    "UInt64": (0, 2**64 - 1),
}
FLOAT_TYPES = frozenset({"Float", "Double"})


class UnsupportedValue(ValueError):
    """A value our telemetry contract cannot carry (arrays, structures)."""


def status_name(code: int) -> str:
    """The symbolic name of a StatusCode, ignoring its info bits; hex when unknown."""
    known = code_to_name_doc.get(code & _CODE_MASK)
    return known[0] if known else f"0x{code & _CODE_MASK:08X}"


def quality_of(code: int) -> tuple[Quality, str | None]:
    """Quality and reason of an OPC UA StatusCode."""
    severity = code & _SEVERITY_MASK
    if severity == 0:
        return Quality.GOOD, None
    if severity == 0x40000000:
        return Quality.UNCERTAIN, status_name(code)
    return Quality.BAD, status_name(code)


def timestamp_ms(dt: datetime | None) -> int | None:
    """Epoch milliseconds of an OPC UA DateTime; None when absent (null is 1601-01-01)."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    ms = int(dt.timestamp() * 1000)
    return ms if ms > 0 else None


def to_value(raw: Any) -> Value:
    """A Variant's Python value as a telemetry value; raises UnsupportedValue."""
    if raw is None or isinstance(raw, bool | int | str):
        return raw.value if isinstance(raw, Enum) else raw
    if isinstance(raw, float):
        return raw
    if isinstance(raw, ua.LocalizedText):
        return raw.Text
    if isinstance(raw, ua.QualifiedName):
        return raw.to_string()
    if isinstance(raw, ua.NodeId):
        return raw.to_string()
    if isinstance(raw, datetime):
        return timestamp_ms(raw)
    if isinstance(raw, bytes):
        return raw.hex()
    if isinstance(raw, uuid.UUID):
        return str(raw)
    if isinstance(raw, ua.StatusCode):
        return status_name(raw.value)
    kind = "array" if isinstance(raw, list | tuple) else type(raw).__name__
    raise UnsupportedValue(f"unsupported_type:{kind}")


def reading(
    tag: str,
    unit: str | None,
    raw: Any,
    status_code: int,
    source_ts: datetime | None,
    server_ts: datetime | None,
    acquired_ms: int,
) -> Reading:
    """One reading from one DataValue's parts.

    `ts` is the source timestamp, else the server timestamp, else the acquisition time.
    A bad value carries no value (the pipeline keeps `last_value`).
    """
    quality, reason = quality_of(status_code)
    ts = timestamp_ms(source_ts) or timestamp_ms(server_ts) or acquired_ms
    if quality is Quality.BAD:
        return Reading(tag, None, quality, ts, acquired_ms, reason, unit)
    try:
        value = to_value(raw)
    except UnsupportedValue as exc:
        return Reading(tag, None, Quality.BAD, ts, acquired_ms, str(exc), unit)
    return Reading(tag, value, quality, ts, acquired_ms, reason, unit)


def bad_reading(tag: str, unit: str | None, reason: str, now_ms: int) -> Reading:
    """A reading saying the value is unavailable (connection down, item refused...)."""
    return Reading(tag, None, Quality.BAD, now_ms, now_ms, reason, unit)


def value_for_write(value: Value, scale: float, offset: float, variant_type: str) -> Any:
    """The raw Python value to write to a node of `variant_type` (a ua.VariantType name).

    Undoes scale/offset, then checks the value fits; raises ValueError naming the problem.
    """
    if value is None:
        raise ValueError("cannot write null")
    if variant_type == "Boolean":
        if not isinstance(value, bool):
            raise ValueError(f"node is Boolean, got {type(value).__name__}")
        return value
    if variant_type == "String":
        if not isinstance(value, str):
            raise ValueError(f"node is String, got {type(value).__name__}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"node is {variant_type}, got {type(value).__name__}")
    raw = (value - offset) / scale if (scale != 1.0 or offset != 0.0) else value
    if variant_type in FLOAT_TYPES:
        if not math.isfinite(raw):
            raise ValueError("value is not finite")
        return float(raw)
    if variant_type in INT_RANGES:
        if isinstance(raw, float):
            if not raw.is_integer():
                raise ValueError(f"node is {variant_type}: {raw} is not a whole number")
            raw = int(raw)
        low, high = INT_RANGES[variant_type]
        if not low <= raw <= high:
            raise ValueError(f"{raw} is out of range for {variant_type} [{low}, {high}]")
        return raw
    raise ValueError(f"writing to a {variant_type} node is not supported")
