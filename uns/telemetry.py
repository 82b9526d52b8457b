"""Reading both telemetry payloads (docs/contracts.md sections 2 and 2b). Pure: no I/O.

An agent publishes a poll as per-value JSON on `{device}/_telemetry` and/or in columns on
`{device}/_telemetry/compact` (config `edge.payloads`). Consumers subscribe to both topics
(`telemetry_filters`) and turn a compact message into what they need: `compact_columns` for the
columns themselves (the cheap path: no object per value), `compact_values` for the per-value
objects of section 2 (the general path, same dicts as the JSON form decodes to).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import chain, repeat
from typing import Any

from uns.topics import Namespace

COMPACT = "compact"


class BadCompact(ValueError):
    """A compact telemetry message that breaks the contract; the message says where."""


def is_compact_topic(topic: str) -> bool:
    return topic.endswith("/_telemetry/compact")


def telemetry_filters(ns: Namespace, payloads: Iterable[str] = ("uns_json",)) -> list[str]:
    """The topic filters a telemetry consumer subscribes to.

    Both forms, so a consumer follows agents whatever they publish; except when the plant's own
    agent publishes both (`payloads` lists both: the migration case), then the compact form
    only, so no value is read twice.
    """
    chosen = set(payloads)
    if {"uns_json", "uns_compact"} <= chosen:
        return [ns.all_telemetry_compact]
    return [ns.all_telemetry, ns.all_telemetry_compact]


@dataclass(frozen=True, slots=True)
class Columns:
    """A compact message's values, one list per field, all of the same length."""

    tags: list[str]
    values: list[Any]
    #: the timestamp of each value (ms), expanded from the runs
    times: list[int]
    #: the values that are not plainly good: index -> their mark (`quality`, `reason`, ...)
    marks: dict[int, dict[str, Any]]
    units: list[str | None] | None


def compact_columns(body: Mapping[str, Any]) -> Columns:
    """The columns of a decoded compact message, checked for shape (lengths, runs, marks)."""
    tags, values, runs = body.get("tags"), body.get("values"), body.get("times")
    if body.get("format") != COMPACT:
        raise BadCompact("`format` is not `compact`")
    if not isinstance(tags, list) or not isinstance(values, list) or not isinstance(runs, list):
        raise BadCompact("`tags`, `values` and `times` must be lists")
    n = len(tags)
    if len(values) != n:
        raise BadCompact(f"{n} tags but {len(values)} values")
    try:
        "".join(tags)  # one C call: a TypeError names a tag that is not a string
    except TypeError:
        raise BadCompact("`tags` must be strings") from None
    covered = 0
    for run in runs:
        if (
            not isinstance(run, list)
            or len(run) != 2
            or type(run[0]) is not int
            or type(run[1]) is not int
            or run[1] < 1
        ):
            raise BadCompact(f"`times` must be [ts, count] runs of integers, got {run!r}")
        covered += run[1]
    if covered != n:
        raise BadCompact(f"the runs of `times` cover {covered} values, not {n}")
    times = list(chain.from_iterable(repeat(ts, count) for ts, count in runs))
    units = body.get("units")
    if units is not None and (not isinstance(units, list) or len(units) != n):
        raise BadCompact("`units` must be a list as long as `tags`")
    given = body.get("marks") or []
    if not isinstance(given, list):
        raise BadCompact("`marks` must be a list")
    marks: dict[int, dict[str, Any]] = {}
    for m in given:
        i = m.get("i") if isinstance(m, dict) else None
        if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < n:
            raise BadCompact(f"mark {m!r} has no index into the values")
        marks[i] = m
    return Columns(tags, values, times, marks, units)


def compact_values(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The per-value objects of section 2 (`tag`, `value`, `quality`, `ts`, and `unit`,
    `reason`, `last_value`, `stale` where they apply) of a decoded compact message."""
    c = compact_columns(body)
    units = c.units or [None] * len(c.tags)
    out: list[dict[str, Any]] = []
    for i, (tag, value, ts, unit) in enumerate(zip(c.tags, c.values, c.times, units, strict=True)):
        v: dict[str, Any] = {"tag": tag, "value": value, "quality": "good", "ts": ts}
        if unit is not None:
            v["unit"] = unit
        mark = c.marks.get(i)
        if mark is not None:
            v.update((k, x) for k, x in mark.items() if k != "i")
        out.append(v)
    return out
