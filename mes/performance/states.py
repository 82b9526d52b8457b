"""Machine states of a work unit: from tag values and scans to closed state intervals.

Three pure steps, each usable alone:
- `StateMapping.machine_state(readings)`: tag values -> the state the machine itself shows;
- `combine(machine, job)`: that state + what the scans say -> the work unit's state and reason;
- `IntervalBuilder`: timestamped observations in, closed `Interval`s out (micro-stops decided
  when a stop closes; `unknown` when a tag is bad or the agent is silent).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class MachineState(StrEnum):
    RUNNING = "running"
    IDLE = "idle"
    SETUP = "setup"
    FAULT = "fault"
    PLANNED_STOP = "planned_stop"
    NO_ORDER = "no_order"
    MICRO_STOP = "micro_stop"
    UNKNOWN = "unknown"


class TagQuality(StrEnum):
    """Quality of a tag value as the edge publishes it (contracts section 2)."""

    GOOD = "good"
    UNCERTAIN = "uncertain"
    BAD = "bad"


class JobStatus(StrEnum):
    """What the scans say about the work unit's job."""

    NONE = "none"  # no job selected
    SETUP = "setup"  # setup of a job reported
    RUNNING = "running"
    PAUSED = "paused"  # paused, with the operator's reason


@dataclass(frozen=True, slots=True)
class TagReading:
    value: Any
    quality: TagQuality = TagQuality.GOOD


@dataclass(frozen=True, slots=True)
class JobContext:
    status: JobStatus = JobStatus.NONE
    reason: str | None = None


_OPERATORS: Mapping[str, Callable[[Any, Any], bool]] = MappingProxyType(
    {
        "eq": operator.eq,
        "ne": operator.ne,
        "gt": operator.gt,
        "ge": operator.ge,
        "lt": operator.lt,
        "le": operator.le,
        "in": lambda value, options: value in options,
        "truthy": lambda value, _: bool(value),
    }
)


class MappingError(ValueError):
    """A state mapping that cannot work, named by the rule at fault."""


@dataclass(frozen=True, slots=True)
class Rule:
    """`tag <op> value => state`, e.g. Rule("fault", "truthy", None, FAULT)."""

    tag: str
    op: str
    value: Any
    state: MachineState

    def __post_init__(self) -> None:
        if self.op not in _OPERATORS:
            raise MappingError(
                f"rule on tag {self.tag!r}: unknown operator {self.op!r}"
                f" (one of {', '.join(sorted(_OPERATORS))})"
            )
        if self.state in (MachineState.MICRO_STOP, MachineState.UNKNOWN, MachineState.NO_ORDER):
            raise MappingError(
                f"rule on tag {self.tag!r}: state {self.state.value!r} is derived, not mapped"
            )

    def matches(self, value: Any) -> bool:
        try:
            return _OPERATORS[self.op](value, self.value)
        except TypeError:  # e.g. "speed gt 0" on a string value: the rule does not apply
            return False


@dataclass(frozen=True, slots=True)
class StateMapping:
    """Tag values -> machine state. The first matching rule wins; with none, `default`.

    `codes` maps the values of one state tag (`code_tag`) to states, checked after the rules,
    e.g. {"RUNNING": RUNNING, 3: FAULT}. A referenced tag that is missing or bad (or uncertain,
    when `uncertain_is_unknown`) makes the state UNKNOWN.
    """

    rules: tuple[Rule, ...] = ()
    code_tag: str | None = None
    codes: Mapping[Any, MachineState] = field(default_factory=dict)
    default: MachineState = MachineState.IDLE
    uncertain_is_unknown: bool = False
    #: the referenced tags (made once: `machine_state` runs for every message)
    _tags: frozenset[str] = field(init=False, repr=False, compare=False)
    _unusable: frozenset[TagQuality] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.codes and self.code_tag is None:
            raise MappingError("state mapping: codes given without code_tag")
        if not self.rules and self.code_tag is None:
            raise MappingError("state mapping: no rules and no code_tag, nothing to map")
        names = {rule.tag for rule in self.rules}
        if self.code_tag is not None:
            names.add(self.code_tag)
        object.__setattr__(self, "_tags", frozenset(names))
        unusable = {TagQuality.BAD}
        if self.uncertain_is_unknown:
            unusable.add(TagQuality.UNCERTAIN)
        object.__setattr__(self, "_unusable", frozenset(unusable))

    @property
    def tags(self) -> frozenset[str]:
        return self._tags

    def machine_state(self, readings: Mapping[str, TagReading]) -> MachineState:
        unusable = self._unusable
        for tag in self._tags:
            reading = readings.get(tag)
            if reading is None or reading.quality in unusable:
                return MachineState.UNKNOWN
        for rule in self.rules:
            if rule.matches(readings[rule.tag].value):
                return rule.state
        if self.code_tag is not None:
            state = self.codes.get(readings[self.code_tag].value)
            if state is not None:
                return state
        return self.default


def combine(machine: MachineState, job: JobContext) -> tuple[MachineState, str | None]:
    """The work unit's state and reason from the machine's own state and the scans.

    The machine's evidence wins where it is specific (unknown, fault, planned stop, setup,
    running); the scans explain a machine that merely stands still: no job selected is
    NO_ORDER, a reported setup is SETUP, a pause is IDLE with the operator's reason.
    """
    if machine in (MachineState.UNKNOWN, MachineState.NO_ORDER, MachineState.MICRO_STOP):
        return machine, None
    if machine is not MachineState.IDLE:
        reason = job.reason if machine is not MachineState.RUNNING else None
        return machine, reason
    if job.status is JobStatus.NONE:
        return MachineState.NO_ORDER, job.reason
    if job.status is JobStatus.SETUP:
        return MachineState.SETUP, job.reason
    return MachineState.IDLE, job.reason


@dataclass(frozen=True, slots=True)
class Interval:
    """A closed span [start, end) in one state."""

    start: datetime
    end: datetime
    state: MachineState
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError(f"interval {self.start}..{self.end}: times must be timezone-aware")
        if self.end < self.start:
            raise ValueError(f"interval ends ({self.end}) before it starts ({self.start})")

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


MICRO_STOP_CANDIDATES = frozenset({MachineState.IDLE, MachineState.FAULT})


@dataclass(frozen=True, slots=True)
class BuilderState:
    """Everything an IntervalBuilder remembers, to store it and resume after a restart."""

    open: Interval  # the open interval (its end is `now`)
    heard: datetime
    online: bool
    readings: Mapping[str, TagReading]
    job: JobContext

    @property
    def now(self) -> datetime:
        return self.open.end


class IntervalBuilder:
    """Incremental, pure: feed observations in time order, get closed intervals back.

    - `observe(ts, readings=..., job=..., agent_online=...)`: `readings` update the latest
      value per tag, `job` replaces the scan context. A call with `readings` (also an empty
      mapping: a heartbeat) or `agent_online` counts as hearing from the agent; a scan alone
      does not.
    - `advance(ts)`: no new data, but time passed (closes into UNKNOWN after `silence_timeout`).
    - `close(ts)`: end of input; returns the last interval(s).
    A stop (a state in `micro_stop_states`) shorter than `micro_stop_threshold` is emitted as
    MICRO_STOP when it closes, keeping its reason.
    """

    def __init__(
        self,
        mapping: StateMapping,
        *,
        start: datetime,
        micro_stop_threshold: timedelta = timedelta(seconds=60),
        silence_timeout: timedelta = timedelta(seconds=120),
        micro_stop_states: frozenset[MachineState] = MICRO_STOP_CANDIDATES,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("IntervalBuilder: start must be timezone-aware")
        if silence_timeout <= timedelta(0):
            raise ValueError("IntervalBuilder: silence_timeout must be positive")
        self.mapping = mapping
        self.micro_stop_threshold = micro_stop_threshold
        self.silence_timeout = silence_timeout
        self.micro_stop_states = micro_stop_states
        self._readings: dict[str, TagReading] = {}
        self._job = JobContext()
        self._online = True
        self._heard = start
        self._now = start
        # the open interval, as three fields changed in place (one Interval per closed span)
        self._start = start
        self._state = MachineState.UNKNOWN
        self._reason: str | None = None
        self._closed = False

    def snapshot(self) -> BuilderState:
        return BuilderState(
            self.current, self._heard, self._online, dict(self._readings), self._job
        )

    @classmethod
    def resume(
        cls,
        mapping: StateMapping,
        state: BuilderState,
        *,
        micro_stop_threshold: timedelta = timedelta(seconds=60),
        silence_timeout: timedelta = timedelta(seconds=120),
        micro_stop_states: frozenset[MachineState] = MICRO_STOP_CANDIDATES,
    ) -> IntervalBuilder:
        """A builder that continues exactly where `snapshot()` left one."""
        builder = cls(
            mapping,
            start=state.open.start,
            micro_stop_threshold=micro_stop_threshold,
            silence_timeout=silence_timeout,
            micro_stop_states=micro_stop_states,
        )
        builder._state = state.open.state
        builder._reason = state.open.reason
        builder._now = state.now
        builder._heard = state.heard
        builder._online = state.online
        builder._readings = dict(state.readings)
        builder._job = state.job
        return builder

    @property
    def current(self) -> Interval:
        """The open interval (its end is the time of the last input)."""
        return Interval(self._start, self._now, self._state, self._reason)

    @property
    def now(self) -> datetime:
        """The time of the last input (the end of `current`)."""
        return self._now

    @property
    def online(self) -> bool:
        """The agent was online at the last input."""
        return self._online

    def _check_time(self, ts: datetime) -> None:
        if self._closed:
            raise RuntimeError("IntervalBuilder: already closed")
        if ts < self._now:
            raise ValueError(f"observation at {ts} is older than the last one at {self._now}")

    def _finish(self, end: datetime) -> Interval:
        state = self._state
        if state in self.micro_stop_states and end - self._start < self.micro_stop_threshold:
            state = MachineState.MICRO_STOP
        return Interval(self._start, end, state, self._reason)

    def _switch(self, ts: datetime, state: MachineState, reason: str | None) -> list[Interval]:
        if state is self._state and reason == self._reason:
            return []
        out = [self._finish(ts)] if ts > self._start else []
        self._start, self._state, self._reason = ts, state, reason
        return out

    def _silence(self, ts: datetime) -> list[Interval]:
        deadline = self._heard + self.silence_timeout
        if ts <= deadline:
            return []
        return self._switch(max(deadline, self._start), MachineState.UNKNOWN, None)

    def _derive(self, ts: datetime) -> tuple[MachineState, str | None]:
        if not self._online or ts - self._heard > self.silence_timeout:
            return MachineState.UNKNOWN, None
        return combine(self.mapping.machine_state(self._readings), self._job)

    def observe(
        self,
        ts: datetime,
        *,
        readings: Mapping[str, TagReading] | None = None,
        job: JobContext | None = None,
        agent_online: bool | None = None,
    ) -> list[Interval]:
        self._check_time(ts)
        out = self._silence(ts)
        self._now = ts
        if readings is not None or agent_online is not None:
            self._heard = ts
        if readings:
            self._readings.update(readings)
        if job is not None:
            self._job = job
        if agent_online is not None:
            self._online = agent_online
        switched = self._switch(ts, *self._derive(ts))
        return out + switched if out else switched

    def advance(self, ts: datetime) -> list[Interval]:
        self._check_time(ts)
        out = self._silence(ts)
        self._now = ts
        return out

    def close(self, ts: datetime) -> list[Interval]:
        out = self.advance(ts)
        self._closed = True
        if ts > self._start:
            out.append(self._finish(ts))
        return out
