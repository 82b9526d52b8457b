"""Per-tag processing, pure: scale/offset, deadband, report-by-exception, heartbeat, stale.

A `TagProcessor` sees every reading of one tag and decides what is published:
- a value is published when it moved beyond the deadband from the last *published* value (so a
  slow drift is still reported), when its quality or reason changed, or when it was unchanged for
  `max_age_ms` (the heartbeat that lets consumers tell "unchanged" from "dead");
- when no reading arrived for `stale_after_ms`, one reading flagged stale (quality uncertain,
  reason `stale`, the last value) is published; the next real reading is published again.
  A tag whose last published reading is already bad (device down, exception) is not flagged
  stale on top: its bad reason says more.
"""

from dataclasses import dataclass, replace

from edge.model import Quality, Reading, Value


@dataclass(frozen=True, slots=True)
class TagRules:
    apply_scale: bool = False
    scale: float = 1.0
    offset: float = 0.0
    unit: str | None = None
    deadband: float | None = None
    deadband_percent: float | None = None
    max_age_ms: int | None = None
    stale_after_ms: int | None = None


def _number(v: Value) -> float | None:
    """The value as a number, or None for booleans, strings and None."""
    if isinstance(v, int | float) and not isinstance(v, bool):
        return v
    return None


def exceeds_deadband(rules: TagRules, last: Value, new: Value) -> bool:
    """Whether `new` differs enough from the last published `last` to be published."""
    a, b = _number(last), _number(new)
    if a is None or b is None:
        return last != new or type(last) is not type(new)
    delta = abs(b - a)
    if rules.deadband is not None:
        return delta > rules.deadband
    if rules.deadband_percent is not None:
        return delta > abs(a) * rules.deadband_percent / 100.0
    return b != a


def scaled(rules: TagRules, value: Value) -> Value:
    number = _number(value)
    if not rules.apply_scale or number is None:
        return value
    if rules.scale == 1.0 and rules.offset == 0.0:
        return value
    return number * rules.scale + rules.offset


class TagProcessor:
    """The publishing decisions of one tag; holds only this tag's state."""

    __slots__ = (
        "_last_good",
        "_last_seen_ms",
        "_no_deadband",
        "_scales",
        "_sent",
        "_sent_ms",
        "_stale",
        "rules",
        "tag",
    )

    def __init__(self, tag: str, rules: TagRules, created_ms: int) -> None:
        self.tag = tag
        self.rules = rules
        # decided once, not per reading (the per-value hot path)
        self._scales = rules.apply_scale and (rules.scale != 1.0 or rules.offset != 0.0)
        self._no_deadband = rules.deadband is None and rules.deadband_percent is None
        self._sent: Reading | None = None
        self._sent_ms = 0
        self._last_seen_ms = created_ms
        self._last_good: Value = None
        self._stale = False

    @property
    def stale(self) -> bool:
        return self._stale

    def process(self, reading: Reading, now_ms: int) -> Reading | None:
        """The reading to publish for this arrival, or None when nothing changed."""
        r = self._prepare(reading)
        self._last_seen_ms = now_ms
        was_stale, self._stale = self._stale, False
        if self._should_publish(r, now_ms) or was_stale:
            return self._publish(r, now_ms)
        return None

    def tick(self, now_ms: int) -> Reading | None:
        """A stale flag or a heartbeat due at `now_ms`, if any."""
        rules = self.rules
        if (
            rules.stale_after_ms is not None
            and not self._stale
            and now_ms - self._last_seen_ms >= rules.stale_after_ms
            and (self._sent is None or self._sent.quality is not Quality.BAD)
        ):
            self._stale = True
            last = self._sent.value if self._sent else None
            ts = self._sent.ts if self._sent else now_ms
            stale = Reading(
                self.tag, last, Quality.UNCERTAIN, ts, now_ms, "stale", rules.unit,
                self._last_good, stale=True,
            )  # fmt: skip
            return self._publish(stale, now_ms)
        if (
            rules.max_age_ms is not None
            and self._sent is not None
            and not self._stale
            and now_ms - self._sent_ms >= rules.max_age_ms
        ):
            return self._publish(replace(self._sent, acquired_ms=now_ms), now_ms)
        return None

    def _prepare(self, reading: Reading) -> Reading:
        rules = self.rules
        value = scaled(rules, reading.value) if self._scales else reading.value
        unit = reading.unit if reading.unit is not None else rules.unit
        last_value = reading.last_value
        if reading.quality is Quality.GOOD:
            self._last_good = value
        elif last_value is None:
            last_value = self._last_good
        if value is reading.value and unit is reading.unit and last_value is reading.last_value:
            return reading
        r = replace(reading, value=value, unit=unit, last_value=last_value)
        return r

    def _should_publish(self, r: Reading, now_ms: int) -> bool:
        sent = self._sent
        if sent is None or sent.quality is not r.quality or sent.reason != r.reason:
            return True
        last, new = sent.value, r.value
        if self._no_deadband and type(new) is float and type(last) is float:
            if new != last:  # what `exceeds_deadband` decides for two floats, inline
                return True
        elif exceeds_deadband(self.rules, last, new):
            return True
        max_age = self.rules.max_age_ms
        return max_age is not None and now_ms - self._sent_ms >= max_age

    def _publish(self, r: Reading, now_ms: int) -> Reading:
        self._sent = r
        self._sent_ms = now_ms
        return r
