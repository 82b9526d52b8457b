"""`_mes/kpi` messages -> time-series points. No I/O.

The MES publishes one `_mes/kpi` message per work unit at each shift end (docs/performance.md,
docs/contracts.md): the unit, its line and work centre, the shift, its `start_at` and `end_at`,
the ISO 22400-2 time model (`times`: durations in seconds, counts) and the KPIs (`kpis`). The
historian reads only that contract, never MES code, and stores each message as one point of the
measurement `kpi`:
- tags: `enterprise, site` (from the topic), `area, line` (the message's `line`, area/line),
  `work_unit`, `work_centre` and `shift` (when given);
- fields: every number of `times` and of `kpis`. A KPI that is undefined (`null`, e.g.
  effectiveness with no production time) is left out, never stored as 0;
- time: the shift's end, so the message the MES sends again after recomputing a shift
  replaces the earlier point instead of adding one.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from historian.points import Point, escape_tag

MEASUREMENT = "kpi"


class BadKpi(ValueError):
    """A message that is not a `_mes/kpi` message; the message says what and where."""


def kpi_topic_levels(topic: str) -> tuple[str, str]:
    """`uns/v1/{enterprise}/{site}/_mes/kpi` -> (enterprise, site)."""
    parts = topic.split("/")
    if len(parts) != 6 or parts[:2] != ["uns", "v1"] or parts[4:] != ["_mes", "kpi"]:
        raise BadKpi(f"{topic}: not a _mes/kpi topic")
    return parts[2], parts[3]


def _text(body: Mapping[str, Any], key: str, topic: str, required: bool) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise BadKpi(f"{topic}: `{key}` must be a non-empty string, got {value!r}")
    return value


def _figures(body: Mapping[str, Any], topic: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for group in ("times", "kpis"):
        values = body.get(group)
        if not isinstance(values, dict):
            raise BadKpi(f"{topic}: `{group}` must be an object")
        for name, value in values.items():
            if value is None:
                continue  # an undefined ratio: no point rather than a false 0
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise BadKpi(f"{topic}: {group}.{name} must be a number or null, got {value!r}")
            if name in out:
                raise BadKpi(f"{topic}: {name} appears in both `times` and `kpis`")
            out[name] = float(value)
    return out


def _end_ms(body: Mapping[str, Any], topic: str) -> int:
    raw = body.get("end_at")
    try:
        end = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        end = None
    if end is None or end.tzinfo is None:
        raise BadKpi(f"{topic}: `end_at` must be an ISO 8601 time with its offset, got {raw!r}")
    return int(end.timestamp() * 1000)


def kpi_points(topic: str, payload: bytes) -> tuple[dict[str, str], dict[str, float], int]:
    """(tags, fields, time in ms) of one `_mes/kpi` message; BadKpi says what is wrong."""
    enterprise, site = kpi_topic_levels(topic)
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise BadKpi(f"{topic}: not JSON") from None
    if not isinstance(body, dict):
        raise BadKpi(f"{topic}: not a JSON object")
    line = _text(body, "line", topic, required=True) or ""
    area, _, line_name = line.rpartition("/")
    tags = {
        "enterprise": enterprise,
        "site": site,
        "area": area or "_none_",
        "line": line_name,
        "work_unit": _text(body, "work_unit", topic, required=True) or "",
    }
    for key in ("work_centre", "shift"):
        value = _text(body, key, topic, required=False)
        if value is not None:
            tags[key] = value
    fields = _figures(body, topic)
    if not fields:
        raise BadKpi(f"{topic}: no figures")
    return tags, fields, _end_ms(body, topic)


def kpi_line(topic: str, payload: bytes) -> bytes:
    """The message as one line of line protocol (newline-terminated), milliseconds."""
    tags, fields, ts = kpi_points(topic, payload)
    keys = ",".join(f"{k}={escape_tag(v)}" for k, v in tags.items())
    values = ",".join(f"{escape_tag(k)}={v!r}" for k, v in fields.items())
    return f"{MEASUREMENT},{keys} {values} {ts:d}\n".encode()


def kpi_samples(topic: str, payload: bytes) -> list[Point]:
    """The message as embedded-store samples: device = the work unit, tag = `kpi.<figure>`,
    path = its area/line."""
    tags, fields, ts = kpi_points(topic, payload)
    path = f"{tags['area']}/{tags['line']}"
    return [
        Point(ts, path, tags["work_unit"], f"{MEASUREMENT}.{name}", value, None, 0)
        for name, value in fields.items()
    ]
