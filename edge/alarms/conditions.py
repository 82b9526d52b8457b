"""Condition detection at the edge, where each tag's data is owned (no I/O).

The engine watches readings as they leave a device's pipeline and turns them into condition
events: `raised`, `cleared`, `suppressed`, `unsuppressed`. It owns the on/off delays, the
hysteresis and the rate-of-change memory of every alarm, keeps the readings' source timestamps,
and can export/import its state so that an agent restart raises nothing twice.

Definitions are indexed by device, then tag: a reading with no alarm costs one dict lookup.
"""

import math
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from config.alarms import (
    AlarmDefinition,
    LimitAlarm,
    QualityAlarm,
    RateOfChangeAlarm,
    StateAlarm,
)
from edge.model import Quality, Reading, Value


class Condition(StrEnum):
    RAISED = "raised"
    CLEARED = "cleared"
    SUPPRESSED = "suppressed"
    UNSUPPRESSED = "unsuppressed"


@dataclass(frozen=True, slots=True)
class ConditionEvent:
    """One change of an alarm's condition, timed by the reading that caused it.

    `since` is when the abnormal condition started (before any on-delay): with `ts` it bounds
    the affected window of a closed-loop quality action.
    """

    alarm: str
    device: str
    tag: str
    condition: Condition
    ts: int
    since: int | None
    value: Value
    limit: float | None
    quality: str
    priority: str
    message: str

    @property
    def event_id(self) -> str:
        """Deterministic: a replayed or re-sent event is recognised as the same one."""
        return f"{self.alarm}@{self.ts}:{self.condition.value}"

    def to_json(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "alarm": self.alarm,
            "tag": self.tag,
            "condition": self.condition.value,
            "ts": self.ts,
            "since": self.since,
            "value": self.value,
            "limit": self.limit,
            "quality": self.quality,
            "priority": self.priority,
            "message": self.message,
        }

    @classmethod
    def from_json(cls, device: str, data: Mapping[str, Any]) -> "ConditionEvent":
        """Parse one event of a `_conditions` message; KeyError/ValueError on a bad one."""
        since = data.get("since")
        limit = data.get("limit")
        return cls(
            alarm=str(data["alarm"]),
            device=device,
            tag=str(data["tag"]),
            condition=Condition(data["condition"]),
            ts=int(data["ts"]),
            since=None if since is None else int(since),
            value=data.get("value"),
            limit=None if limit is None else float(limit),
            quality=str(data.get("quality", "good")),
            priority=str(data.get("priority", "medium")),
            message=str(data.get("message", "")),
        )


def render_message(template: str, **fields: Any) -> str:
    """Fill a message template; a value that does not fit its format spec (e.g. `{value:.1f}`
    with no value) is shown plainly rather than failing."""
    out: list[str] = []
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError:
        return template
    for literal, name, spec, _conv in parts:
        out.append(literal)
        if name is None:
            continue
        value = fields.get(name)
        if value is None:
            continue
        try:
            out.append(format(value, spec or ""))
        except (ValueError, TypeError):
            out.append(str(value))
    return "".join(out)


class _Watch:
    """The detection state of one alarm."""

    __slots__ = (
        "active",
        "alarm",
        "clearing_since",
        "defn",
        "device",
        "group",
        "last_quality",
        "last_ts",
        "last_value",
        "off_ms",
        "on_ms",
        "path",
        "pending_since",
        "since",
        "suppress_values",
        "suppressed",
        "tag",
    )

    def __init__(self, defn: AlarmDefinition, path: str) -> None:
        self.defn = defn
        self.alarm = defn.alarm_id
        self.device = defn.device
        self.tag = defn.tag
        self.path = path
        extra = defn.for_s if isinstance(defn, QualityAlarm) else 0.0
        self.on_ms = round((defn.on_delay_s + extra) * 1000)
        self.off_ms = round(defn.off_delay_s * 1000)
        sup = defn.suppress_when
        self.suppress_values: frozenset[Any] = frozenset(sup.values) if sup else frozenset()
        self.active = False
        self.suppressed = False
        self.since: int | None = None
        self.pending_since: int | None = None
        self.clearing_since: int | None = None
        self.last_value: float | None = None
        self.last_ts = 0
        self.last_quality = "good"
        self.group: _TagGroup

    def abnormal(self, r: Reading) -> bool | None:
        """True/False; None when the reading says nothing about this alarm (e.g. bad data
        for a limit alarm: the quality alarm covers that)."""
        raise NotImplementedError

    def limit(self) -> float | None:
        return None

    def step(self, r: Reading) -> "ConditionEvent | None":
        if self.suppressed:
            return None
        ab = self.abnormal(r)
        if ab is None:
            return None
        ts = r.ts
        self.last_quality = r.quality.value
        if ab:
            self.clearing_since = None
            if self.active:
                return None
            if self.pending_since is None:
                self.pending_since = ts
            if ts - self.pending_since >= self.on_ms:
                return self._raise(ts, r.value, r.quality.value, r.unit)
            return None
        self.pending_since = None
        if not self.active:
            return None
        if self.clearing_since is None:
            self.clearing_since = ts
        if ts - self.clearing_since >= self.off_ms:
            return self._clear(ts, r.value, r.quality.value, r.unit)
        return None

    def due(self, now_ms: int) -> "ConditionEvent | None":
        """A delay that elapsed with no new reading (report-by-exception sends none)."""
        if self.suppressed:
            return None
        if self.pending_since is not None and not self.active:
            if now_ms - self.pending_since >= self.on_ms:
                return self._raise(now_ms, self.last_value, self.last_quality, None)
        elif (
            self.clearing_since is not None
            and self.active
            and now_ms - self.clearing_since >= self.off_ms
        ):
            return self._clear(now_ms, self.last_value, self.last_quality, None)
        return None

    def idle(self) -> bool:
        return not self.active and self.pending_since is None and self.clearing_since is None

    def waiting(self) -> bool:
        return (self.pending_since is not None and not self.active) or (
            self.clearing_since is not None and self.active
        )

    def _raise(self, ts: int, value: Value, quality: str, unit: str | None) -> ConditionEvent:
        self.active = True
        self.since = self.pending_since if self.pending_since is not None else ts
        self.pending_since = None
        return self._event(Condition.RAISED, ts, value, quality, unit)

    def _clear(self, ts: int, value: Value, quality: str, unit: str | None) -> ConditionEvent:
        self.active = False
        self.clearing_since = None
        return self._event(Condition.CLEARED, ts, value, quality, unit)

    def set_suppressed(self, suppressed: bool, ts: int) -> ConditionEvent | None:
        if suppressed == self.suppressed:
            return None
        self.suppressed = suppressed
        self.active = False
        self.pending_since = self.clearing_since = None
        cond = Condition.SUPPRESSED if suppressed else Condition.UNSUPPRESSED
        return self._event(cond, ts, None, "good", None)

    def _event(
        self, cond: Condition, ts: int, value: Value, quality: str, unit: str | None
    ) -> ConditionEvent:
        d = self.defn
        lim = self.limit()
        message = render_message(
            d.message,
            alarm=self.alarm,
            device=self.device,
            tag=self.tag,
            name=self.alarm.rsplit(".", 1)[1],
            value=value,
            limit=lim,
            unit=unit or "",
            priority=d.priority,
            path=self.path,
        )
        return ConditionEvent(
            self.alarm,
            self.device,
            self.tag,
            cond,
            ts,
            self.since,
            value,
            lim,
            quality,
            d.priority,
            message,
        )


def _number(r: Reading) -> float | None:
    v = r.value
    if r.quality is Quality.BAD or v is None or isinstance(v, str):
        return None
    return float(v)


class _LimitWatch(_Watch):
    __slots__ = ("deadband", "high", "threshold")

    def __init__(self, defn: LimitAlarm, path: str) -> None:
        super().__init__(defn, path)
        self.high = defn.high
        self.threshold = defn.limit
        self.deadband = defn.deadband

    def limit(self) -> float | None:
        return self.threshold

    def abnormal(self, r: Reading) -> bool | None:
        v = _number(r)
        if v is None:
            return None
        self.last_value = v
        if self.high:
            return v > self.threshold - self.deadband if self.active else v >= self.threshold
        return v < self.threshold + self.deadband if self.active else v <= self.threshold


class _StateWatch(_Watch):
    __slots__ = ("values",)

    def __init__(self, defn: StateAlarm, path: str) -> None:
        super().__init__(defn, path)
        self.values = frozenset(defn.values)

    def abnormal(self, r: Reading) -> bool | None:
        if r.quality is Quality.BAD or r.value is None:
            return None
        return r.value in self.values


class _RateWatch(_Watch):
    __slots__ = ("direction", "max_per_ms")

    def __init__(self, defn: RateOfChangeAlarm, path: str) -> None:
        super().__init__(defn, path)
        self.max_per_ms = defn.max_per_s / 1000.0
        self.direction = defn.direction

    def limit(self) -> float | None:
        return self.max_per_ms * 1000.0

    def abnormal(self, r: Reading) -> bool | None:
        v = _number(r)
        if v is None:
            return None
        prev, prev_ts = self.last_value, self.last_ts
        self.last_value, self.last_ts = v, r.ts
        if prev is None or r.ts <= prev_ts:
            return None
        rate = (v - prev) / (r.ts - prev_ts)
        if self.direction == "rising":
            return rate > self.max_per_ms
        if self.direction == "falling":
            return -rate > self.max_per_ms
        return abs(rate) > self.max_per_ms


class _QualityWatch(_Watch):
    __slots__ = ("bad_set", "stale")

    def __init__(self, defn: QualityAlarm, path: str) -> None:
        super().__init__(defn, path)
        bad = {Quality.BAD}
        if defn.include_uncertain:
            bad.add(Quality.UNCERTAIN)
        self.bad_set = frozenset(bad)
        self.stale = defn.include_stale

    def abnormal(self, r: Reading) -> bool | None:
        return r.quality in self.bad_set or (self.stale and (r.stale or r.reason == "stale"))


def _watch(defn: AlarmDefinition, path: str) -> _Watch:
    if isinstance(defn, LimitAlarm):
        return _LimitWatch(defn, path)
    if isinstance(defn, StateAlarm):
        return _StateWatch(defn, path)
    if isinstance(defn, RateOfChangeAlarm):
        return _RateWatch(defn, path)
    return _QualityWatch(defn, path)


class _TagGroup:
    """The watches of one tag, with a fast path: while every watch is idle and all of them are
    limit (or quality) alarms, a good reading strictly between the highest low limit and the
    lowest high limit cannot change anything, and costs two comparisons."""

    __slots__ = ("band", "hi", "lo", "quiet", "watches")

    def __init__(self) -> None:
        self.watches: list[_Watch] = []
        self.band = True
        self.lo = -math.inf
        self.hi = math.inf
        self.quiet = True

    def add(self, w: _Watch) -> None:
        self.watches.append(w)
        w.group = self
        if isinstance(w, _LimitWatch):
            if w.high:
                self.hi = min(self.hi, w.threshold)
            else:
                self.lo = max(self.lo, w.threshold)
        elif not isinstance(w, _QualityWatch):
            self.band = False
        self.settle()

    def settle(self) -> None:
        self.quiet = self.band and all(w.idle() for w in self.watches)


class _DeviceIndex:
    __slots__ = ("by_tag", "suppressors")

    def __init__(self) -> None:
        self.by_tag: dict[str, _TagGroup] = {}
        #: tag -> the watches whose suppression depends on it
        self.suppressors: dict[str, list[_Watch]] = {}


class ConditionEngine:
    """Condition detection for the alarms of one agent's devices."""

    def __init__(self, definitions: Iterable[AlarmDefinition], paths: Mapping[str, str]) -> None:
        """`paths` maps each device to its area/line/cell (for messages)."""
        self._devices: dict[str, _DeviceIndex] = {}
        self._watches: dict[str, _Watch] = {}
        self._waiting: set[_Watch] = set()
        for defn in definitions:
            w = _watch(defn, f"{paths.get(defn.device, '')}/{defn.device}".lstrip("/"))
            if w.alarm in self._watches:
                raise ValueError(f"duplicate alarm {w.alarm!r}")
            self._watches[w.alarm] = w
            idx = self._devices.setdefault(defn.device, _DeviceIndex())
            idx.by_tag.setdefault(defn.tag, _TagGroup()).add(w)
            if defn.suppress_when is not None:
                idx.suppressors.setdefault(defn.suppress_when.tag, []).append(w)

    def __len__(self) -> int:
        return len(self._watches)

    def devices(self) -> set[str]:
        return set(self._devices)

    def watched_tags(self, device: str) -> frozenset[str]:
        """The tags of `device` whose readings `observe` looks at (alarm and suppression tags):
        the readings of any other tag change nothing."""
        idx = self._devices.get(device)
        if idx is None:
            return frozenset()
        return frozenset(idx.by_tag) | frozenset(idx.suppressors)

    def observe(self, device: str, readings: Sequence[Reading]) -> list[ConditionEvent]:
        """Feed one batch of a device's processed readings; returns the condition changes."""
        idx = self._devices.get(device)
        if idx is None:
            return []
        out: list[ConditionEvent] = []
        if idx.suppressors:
            for r in readings:
                deps = idx.suppressors.get(r.tag)
                if deps is None or r.quality is Quality.BAD:
                    continue
                for w in deps:
                    ev = w.set_suppressed(r.value in w.suppress_values, r.ts)
                    if ev is not None:
                        self._waiting.discard(w)
                        w.group.settle()
                        out.append(ev)
        by_tag = idx.by_tag
        waiting = self._waiting
        good = Quality.GOOD
        for r in readings:
            g = by_tag.get(r.tag)
            if g is None:
                continue
            if g.quiet and r.quality is good and not r.stale:
                try:
                    if g.lo < r.value < g.hi:  # type: ignore[operator]
                        continue
                except TypeError:  # not a number: the watches decide
                    pass
            for w in g.watches:
                ev = w.step(r)
                if ev is not None:
                    out.append(ev)
                elif w.pending_since is not None or w.clearing_since is not None:
                    waiting.add(w)  # tick() fires the delay if no reading comes
            g.settle()
        return out

    def tick(self, now_ms: int) -> list[ConditionEvent]:
        """Fire on/off delays that elapsed without a new reading."""
        out: list[ConditionEvent] = []
        for w in list(self._waiting):
            ev = w.due(now_ms)
            if ev is not None:
                out.append(ev)
            w.group.settle()
            if not w.waiting():
                self._waiting.discard(w)
        return out

    def active(self) -> set[str]:
        return {a for a, w in self._watches.items() if w.active}

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """What must survive a restart: active and suppressed alarms (others are default)."""
        return {
            a: {"active": w.active, "since": w.since, "suppressed": w.suppressed}
            for a, w in self._watches.items()
            if w.active or w.suppressed
        }

    def restore(self, snapshot: Mapping[str, Mapping[str, Any]]) -> list[str]:
        """Load a snapshot; returns the alarms it names that are no longer defined."""
        unknown = []
        for alarm, st in snapshot.items():
            w = self._watches.get(alarm)
            if w is None:
                unknown.append(alarm)
                continue
            w.active = bool(st.get("active"))
            since = st.get("since")
            w.since = (
                int(since) if isinstance(since, int | float) and math.isfinite(since) else None
            )
            w.suppressed = bool(st.get("suppressed"))
            w.group.settle()
        return unknown
