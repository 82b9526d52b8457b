"""Telemetry messages -> time-series points, and points -> InfluxDB line protocol. No I/O.

Layout in the store (measurement `telemetry`):
- tags: `enterprise, site, area, line, cell, device, tag` (the unified-namespace hierarchy and
  the tag name), plus `text` for string values and `reason` for values that are not good;
- fields: `value` (float: numbers, booleans as 1/0) and `quality` (integer: 0 good,
  1 uncertain, 2 bad).
A string value (e.g. a machine state) is kept as the `text` tag, because VictoriaMetrics stores
string fields as 0. A value that is null (bad quality) has only the `quality` field.
"""

from dataclasses import dataclass
from typing import Any

import orjson

from historian.fastlines import compact_lines, good_values_lines
from uns.telemetry import BadCompact, compact_columns, compact_values, is_compact_topic

MEASUREMENT = "telemetry"
QUALITY_CODE = {"good": 0, "uncertain": 1, "bad": 2}
QUALITY_NAME = {v: k for k, v in QUALITY_CODE.items()}
_HIERARCHY = ("enterprise", "site", "area", "line", "cell", "device")
_PREFIX_CACHE_MAX = 200_000
EMPTY_TEXT = "_empty_"  # line protocol has no empty tag values


class BadTelemetry(ValueError):
    """A message that is not a telemetry batch; the message says what and where."""


@dataclass(frozen=True, slots=True)
class Point:
    ts: int
    path: str  # area/line/cell
    device: str
    tag: str
    value: float | None
    text: str | None
    quality: int
    reason: str | None = None


def escape_tag(v: str) -> str:
    return v.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def topic_levels(topic: str) -> tuple[str, ...]:
    """`uns/v1/{enterprise}/{site}/{area}/{line}/{cell}/{device}/_telemetry` (or its
    `/compact` sibling) -> its 6 levels."""
    parts = topic.split("/")
    if len(parts) == 10 and parts[9] == "compact":
        parts.pop()
    if len(parts) != 9 or parts[:2] != ["uns", "v1"] or parts[8] != "_telemetry":
        raise BadTelemetry(f"{topic}: not a telemetry topic")
    return tuple(parts[2:8])


class Converter:
    """Decodes batches and writes line protocol, caching each series' key (the costly part)."""

    def __init__(self) -> None:
        self._prefixes: dict[str, dict[str, str]] = {}  # topic -> tag -> series key
        self._series: dict[str, bytes] = {}  # topic -> series key up to `,tag=`

    def encode(self, topic: str, payload: bytes) -> tuple[bytes, int]:
        """The batch as line protocol bytes (one line per value, each ending in a newline) and
        the number of lines: what the historian sends. A batch of good values is cut straight
        from the JSON (`fastlines`); any other goes through `lines`."""
        series = self._series.get(topic)
        if series is None:
            if len(self._series) > _PREFIX_CACHE_MAX:
                self._series.clear()
            series = self._series[topic] = self._prefix(topic, "").encode()
        if is_compact_topic(topic):
            body = _body(topic, payload)
            if "marks" not in body:
                try:
                    columns = compact_columns(body)  # checks the shape the cut relies on
                except BadCompact as exc:
                    raise BadTelemetry(f"{topic}: {exc}") from None
                fast = compact_lines(series, payload, columns.tags, body["times"])
                if fast is not None:
                    return fast
            values = _compact(topic, body)
            lines = self._lines(topic, values)
        else:
            fast = good_values_lines(series, payload)
            if fast is not None:
                return fast
            lines = self.lines(topic, payload)
        if not lines:
            return b"", 0
        return ("\n".join(lines) + "\n").encode(), len(lines)

    def points(self, topic: str, payload: bytes) -> list[Point]:
        """The batch as points (for the embedded store)."""
        levels = topic_levels(topic)
        path = "/".join(levels[2:5])
        device = levels[5]
        out = []
        for i, v in enumerate(_values(topic, payload)):
            try:
                out.append(_point(v, path, device))
            except (KeyError, TypeError, ValueError) as exc:
                raise BadTelemetry(f"{topic}: values[{i}]: {exc}") from None
        return out

    def lines(self, topic: str, payload: bytes) -> list[str]:
        """The batch as line protocol, straight from the JSON (the historian's hot path)."""
        return self._lines(topic, _values(topic, payload))

    def _lines(self, topic: str, values: list[Any]) -> list[str]:
        prefixes = self._prefixes.get(topic)
        if prefixes is None:
            if len(self._prefixes) > _PREFIX_CACHE_MAX:
                self._prefixes.clear()
            prefixes = self._prefixes[topic] = {}
        codes = QUALITY_CODE
        out: list[str] = []
        append = out.append
        for v in values:
            try:
                tag = v["tag"]
                prefix = prefixes.get(tag)
                if prefix is None:
                    prefix = prefixes[tag] = self._prefix(topic, str(tag))
                raw = v["value"]
                quality = codes[v["quality"]]
                kind = type(raw)
                if quality:
                    reason = v.get("reason")
                    if reason is not None:
                        prefix = f"{prefix},reason={escape_tag(str(reason))}"
                if kind is float:
                    append(f"{prefix} value={raw!r},quality={quality}i {v['ts']:d}")
                elif kind is int:
                    append(f"{prefix} value={float(raw)!r},quality={quality}i {v['ts']:d}")
                elif kind is bool:
                    append(f"{prefix} value={1.0 if raw else 0.0},quality={quality}i {v['ts']:d}")
                elif kind is str:
                    text = escape_tag(raw) or EMPTY_TEXT
                    append(f"{prefix},text={text} quality={quality}i {v['ts']:d}")
                elif raw is None:
                    append(f"{prefix} quality={quality}i {v['ts']:d}")
                else:
                    raise ValueError(f"value of type {kind.__name__} is not allowed")
            except (KeyError, TypeError, ValueError) as exc:
                raise BadTelemetry(f"{topic}: values[{len(out)}]: {exc}") from None
        return out

    @staticmethod
    def _prefix(topic: str, tag: str) -> str:
        levels = topic_levels(topic)
        keys = ",".join(f"{k}={escape_tag(v)}" for k, v in zip(_HIERARCHY, levels, strict=True))
        return f"{MEASUREMENT},{keys},tag={escape_tag(tag)}"


def _body(topic: str, payload: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise BadTelemetry(f"{topic}: not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise BadTelemetry(f"{topic}: not a telemetry batch")
    return body


def _compact(topic: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        return compact_values(body)
    except BadCompact as exc:
        raise BadTelemetry(f"{topic}: {exc}") from None


def _values(topic: str, payload: bytes) -> list[Any]:
    topic_levels(topic)
    if is_compact_topic(topic):
        return _compact(topic, _body(topic, payload))
    try:
        values = orjson.loads(payload)["values"]
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise BadTelemetry(f"{topic}: not a telemetry batch ({exc})") from None
    if not isinstance(values, list):
        raise BadTelemetry(f"{topic}: `values` is not a list")
    return values


def _point(v: dict[str, Any], path: str, device: str) -> Point:
    raw = v["value"]
    quality = QUALITY_CODE[v["quality"]]
    ts = int(v["ts"])
    value: float | None = None
    text: str | None = None
    if isinstance(raw, bool):
        value = 1.0 if raw else 0.0
    elif isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        text = raw
    elif raw is not None:
        raise ValueError(f"value of type {type(raw).__name__} is not allowed")
    reason = v.get("reason") if quality else None
    return Point(ts, path, device, str(v["tag"]), value, text, quality, reason)
