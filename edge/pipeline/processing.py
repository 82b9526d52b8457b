"""Per-tag processing, pure: scale/offset, deadband, report-by-exception, heartbeat, stale.

A `TagProcessor` sees every reading of one tag and decides what is published:
- a value is published when it moved beyond the deadband from the last *published* value (so a
  slow drift is still reported), when its quality or reason changed, or when it was unchanged for
  `max_age_ms` (the heartbeat that lets consumers tell "unchanged" from "dead");
- when no reading arrived for `stale_after_ms`, one reading flagged stale (quality uncertain,
  reason `stale`, the last value) is published; the next real reading is published again.
  A tag whose last published reading is already bad (device down, exception) is not flagged
  stale on top: its bad reason says more.

`process_block` makes the same decisions for a whole `ReadingBlock` (good values in columns)
without an object per value: a value that is not on the plain path (first value, after a bad
or stale one, scaled by the pipeline, another unit) goes through `TagProcessor.process`.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace

from edge.model import Quality, Reading, ReadingBlock, Value


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
    """The publishing decisions of one tag; holds only this tag's state.

    The last published reading is kept as its value and times when it was plain (good, no
    reason, not stale, the tag's unit: nearly always), as the reading itself otherwise: so the
    block path updates a few fields instead of building a reading per value.
    """

    __slots__ = (
        "_has_sent",
        "_last_good",
        "_last_seen_ms",
        "_no_deadband",
        "_scales",
        "_sent_ms",
        "_sent_odd",
        "_sent_ts",
        "_sent_value",
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
        self._has_sent = False
        self._sent_value: Value = None
        self._sent_ts = 0
        self._sent_ms = 0
        #: the last published reading when it was not plain, else None
        self._sent_odd: Reading | None = None
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
        sent = self._has_sent
        if (
            rules.stale_after_ms is not None
            and not self._stale
            and now_ms - self._last_seen_ms >= rules.stale_after_ms
            and (not sent or self._sent_quality() is not Quality.BAD)
        ):
            self._stale = True
            last = self._sent_value if sent else None
            ts = self._sent_ts if sent else now_ms
            stale = Reading(
                self.tag, last, Quality.UNCERTAIN, ts, now_ms, "stale", rules.unit,
                self._last_good, stale=True,
            )  # fmt: skip
            return self._publish(stale, now_ms)
        if (
            rules.max_age_ms is not None
            and sent
            and not self._stale
            and now_ms - self._sent_ms >= rules.max_age_ms
        ):
            return self._publish(replace(self._sent_reading(), acquired_ms=now_ms), now_ms)
        return None

    def _sent_quality(self) -> Quality:
        odd = self._sent_odd
        return Quality.GOOD if odd is None else odd.quality

    def _sent_reading(self) -> Reading:
        """The last published reading (call only once one was published)."""
        odd = self._sent_odd
        if odd is not None:
            return odd
        return Reading(
            self.tag, self._sent_value, Quality.GOOD, self._sent_ts, self._sent_ms, None,
            self.rules.unit,
        )  # fmt: skip

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
        if not self._has_sent:
            return True
        odd = self._sent_odd
        if odd is None:
            if r.quality is not Quality.GOOD or r.reason is not None:
                return True
        elif odd.quality is not r.quality or odd.reason != r.reason:
            return True
        last, new = self._sent_value, r.value
        if self._no_deadband and type(new) is float and type(last) is float:
            if new != last:  # what `exceeds_deadband` decides for two floats, inline
                return True
        elif exceeds_deadband(self.rules, last, new):
            return True
        max_age = self.rules.max_age_ms
        return max_age is not None and now_ms - self._sent_ms >= max_age

    def _publish(self, r: Reading, now_ms: int) -> Reading:
        self._has_sent = True
        self._sent_value = r.value
        self._sent_ts = r.ts
        self._sent_ms = now_ms
        plain = (
            r.quality is Quality.GOOD
            and r.reason is None
            and not r.stale
            and r.last_value is None
            and r.unit == self.rules.unit
        )
        self._sent_odd = None if plain else r
        return r


@dataclass(frozen=True, slots=True)
class BlockPlan:
    """How the pipeline processes one recurring read block (built once per block layout).

    `procs[i]` is the processor of `tags[i]` (None: a tag the configuration does not know,
    passed through unprocessed); `fast[i]` the same processor when the block path may decide
    for it without a `Reading` (no pipeline scaling, the tag's own unit), else None; `units`
    the units the published values carry.
    """

    tags: tuple[str, ...]
    procs: tuple[TagProcessor | None, ...]
    fast: tuple[TagProcessor | None, ...]
    units: tuple[str | None, ...]


def plan_block(processors: Mapping[str, TagProcessor], block: ReadingBlock) -> BlockPlan:
    procs = tuple(processors.get(t) for t in block.tags)
    fast = tuple(
        p if p is not None and not p._scales and u in (None, p.rules.unit) else None
        for p, u in zip(procs, block.units, strict=True)
    )
    units = tuple(
        u if u is not None or p is None else p.rules.unit
        for p, u in zip(procs, block.units, strict=True)
    )
    return BlockPlan(block.tags, procs, fast, units)


def process_block(
    plan: BlockPlan, block: ReadingBlock, now_ms: int, odd: list[Reading]
) -> ReadingBlock | None:
    """What to publish of one block: the plain values that changed (beyond the deadband, or
    whose heartbeat is due) as a block, None when none did; values off the plain path are
    decided by their `TagProcessor` and appended to `odd` when published.

    The same decisions as `TagProcessor.process` of each value as a good `Reading`.
    """
    ts = block.ts
    values = block.values
    keep: list[int] = []
    i = -1
    for p, v in zip(plan.fast, values, strict=True):
        i += 1
        if p is None or p._sent_odd is not None or p._stale or not p._has_sent:
            _one(plan, i, v, ts, now_ms, odd)
            continue
        p._last_seen_ms = now_ms
        p._last_good = v
        last = p._sent_value
        if p._no_deadband and type(v) is float and type(last) is float:
            changed = v != last
        else:
            changed = exceeds_deadband(p.rules, last, v)
        if not changed:
            max_age = p.rules.max_age_ms
            if max_age is None or now_ms - p._sent_ms < max_age:
                continue
        p._sent_value = v
        p._sent_ts = ts
        p._sent_ms = now_ms
        keep.append(i)
    if not keep:
        return None
    if len(keep) == len(values):
        return ReadingBlock(block.tags, values, ts, plan.units)
    tags, units = block.tags, plan.units
    return ReadingBlock(
        tuple([tags[k] for k in keep]),
        [values[k] for k in keep],
        ts,
        tuple([units[k] for k in keep]),
    )


def _one(plan: BlockPlan, i: int, v: Value, ts: int, now_ms: int, odd: list[Reading]) -> None:
    """One value of a block through its processor as a `Reading` (the slow path)."""
    r = Reading(plan.tags[i], v, Quality.GOOD, ts, ts, None, plan.units[i])
    p = plan.procs[i]
    if p is None:
        odd.append(r)
        return
    published = p.process(r, now_ms)
    if published is not None:
        odd.append(published)
