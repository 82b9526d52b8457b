"""Machine states: tag mapping, scans, micro-stops, unknown on bad tags and silent agents."""

from datetime import UTC, datetime, timedelta

import pytest

from mes.performance.states import (
    Interval,
    IntervalBuilder,
    JobContext,
    JobStatus,
    MachineState,
    MappingError,
    Rule,
    StateMapping,
    TagQuality,
    TagReading,
    combine,
)

S = MachineState
T0 = datetime(2026, 3, 3, 5, tzinfo=UTC)

# A press: fault bit first, then a state code tag, then "speed > 0 => running".
PRESS = StateMapping(
    rules=(Rule("fault", "truthy", None, S.FAULT), Rule("speed", "gt", 0, S.RUNNING)),
    code_tag="mode",
    codes={"SETUP": S.SETUP, "MAINT": S.PLANNED_STOP, 3: S.SETUP},
)
RUN = JobContext(JobStatus.RUNNING)


def good(**values: object) -> dict[str, TagReading]:
    return {tag: TagReading(value) for tag, value in values.items()}


def sec(n: float) -> timedelta:
    return timedelta(seconds=n)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"fault": True, "speed": 100, "mode": "AUTO"}, S.FAULT),  # first rule wins
        ({"fault": False, "speed": 100, "mode": "AUTO"}, S.RUNNING),
        ({"fault": 0, "speed": 0, "mode": "SETUP"}, S.SETUP),
        ({"fault": 0, "speed": 0, "mode": 3}, S.SETUP),  # numeric code
        ({"fault": 0, "speed": 0, "mode": "MAINT"}, S.PLANNED_STOP),
        ({"fault": 0, "speed": 0, "mode": "AUTO"}, S.IDLE),  # default
        ({"fault": 0, "speed": "n/a", "mode": "AUTO"}, S.IDLE),  # a rule that cannot compare
    ],
)
def test_mapping_from_tag_values(values: dict[str, object], expected: MachineState) -> None:
    assert PRESS.machine_state(good(**values)) is expected


def test_bad_or_missing_tag_is_unknown() -> None:
    readings = good(fault=False, speed=100, mode="AUTO")
    readings["speed"] = TagReading(None, TagQuality.BAD)
    assert PRESS.machine_state(readings) is S.UNKNOWN
    assert PRESS.machine_state(good(fault=False, speed=100)) is S.UNKNOWN  # "mode" never seen
    uncertain = good(fault=False, mode="AUTO") | {"speed": TagReading(5, TagQuality.UNCERTAIN)}
    assert PRESS.machine_state(uncertain) is S.RUNNING
    strict = StateMapping(rules=PRESS.rules, uncertain_is_unknown=True)
    assert strict.machine_state(uncertain) is S.UNKNOWN


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Rule("speed", "between", 0, S.RUNNING), "unknown operator"),
        (lambda: Rule("x", "eq", 1, S.MICRO_STOP), "derived"),
        (lambda: Rule("x", "eq", 1, S.UNKNOWN), "derived"),
        (lambda: StateMapping(), "nothing to map"),
        (lambda: StateMapping(codes={1: S.RUNNING}), "without code_tag"),
    ],
)
def test_bad_mappings_are_refused(build: object, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        build()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("machine", "job", "expected"),
    [
        (S.RUNNING, JobContext(), (S.RUNNING, None)),  # production without a job is production
        (S.IDLE, JobContext(), (S.NO_ORDER, None)),
        (S.IDLE, JobContext(JobStatus.SETUP), (S.SETUP, None)),
        (S.IDLE, JobContext(JobStatus.PAUSED, "material"), (S.IDLE, "material")),
        (S.IDLE, RUN, (S.IDLE, None)),
        (S.FAULT, JobContext(JobStatus.PAUSED, "tool broke"), (S.FAULT, "tool broke")),
        (S.FAULT, JobContext(), (S.FAULT, None)),
        (S.RUNNING, JobContext(JobStatus.PAUSED, "material"), (S.RUNNING, None)),
        (S.UNKNOWN, RUN, (S.UNKNOWN, None)),
        (S.PLANNED_STOP, JobContext(), (S.PLANNED_STOP, None)),
    ],
)
def test_combine_machine_and_scans(
    machine: MachineState, job: JobContext, expected: tuple[MachineState, str | None]
) -> None:
    assert combine(machine, job) == expected


def builder(silence_timeout: timedelta = sec(120)) -> IntervalBuilder:
    return IntervalBuilder(
        PRESS, start=T0, micro_stop_threshold=sec(60), silence_timeout=silence_timeout
    )


def test_builder_emits_closed_intervals() -> None:
    b = builder(silence_timeout=sec(3600))
    assert b.observe(T0, readings=good(fault=0, speed=0, mode="SETUP"), job=RUN) == []
    out = b.observe(T0 + sec(600), readings=good(speed=50, mode="AUTO"))
    assert out == [Interval(T0, T0 + sec(600), S.SETUP)]
    assert b.observe(T0 + sec(650), readings=good(speed=60)) == []  # still running
    assert b.current == Interval(T0 + sec(600), T0 + sec(650), S.RUNNING)
    out = b.observe(
        T0 + sec(700), readings=good(speed=0), job=JobContext(JobStatus.PAUSED, "break")
    )
    assert out == [Interval(T0 + sec(600), T0 + sec(700), S.RUNNING)]
    assert b.close(T0 + sec(1000)) == [Interval(T0 + sec(700), T0 + sec(1000), S.IDLE, "break")]
    with pytest.raises(RuntimeError, match="closed"):
        b.observe(T0 + sec(1001))


def test_short_stop_becomes_micro_stop_when_it_closes() -> None:
    b = builder()
    b.observe(T0, readings=good(fault=0, speed=50, mode="AUTO"), job=RUN)
    b.observe(T0 + sec(100), readings=good(speed=0))  # stop opens
    out = b.observe(T0 + sec(159), readings=good(speed=40))  # 59 s < 60 s
    assert out == [Interval(T0 + sec(100), T0 + sec(159), S.MICRO_STOP)]
    b.observe(T0 + sec(200), readings=good(fault=1))  # a fault of exactly 60 s: a real stop
    out = b.observe(T0 + sec(260), readings=good(fault=0))
    assert out == [Interval(T0 + sec(200), T0 + sec(260), S.FAULT)]
    # Reasons survive the reclassification; no-order stops are never micro-stops.
    b.observe(T0 + sec(300), readings=good(speed=0), job=JobContext(JobStatus.PAUSED, "jam"))
    out = b.observe(T0 + sec(310), readings=good(speed=10))
    assert out == [Interval(T0 + sec(300), T0 + sec(310), S.MICRO_STOP, "jam")]
    b.observe(T0 + sec(400), readings=good(speed=0), job=JobContext())
    out = b.observe(T0 + sec(410), readings=good(speed=10))
    assert out == [Interval(T0 + sec(400), T0 + sec(410), S.NO_ORDER)]


def test_silent_agent_turns_unknown_after_the_timeout() -> None:
    b = builder()
    b.observe(T0, readings=good(fault=0, speed=50, mode="AUTO"), job=RUN)
    assert b.advance(T0 + sec(120)) == []  # exactly at the timeout: still trusted
    out = b.advance(T0 + sec(300))
    assert out == [Interval(T0, T0 + sec(120), S.RUNNING)]
    assert b.current.state is S.UNKNOWN
    out = b.observe(T0 + sec(400), readings=good(speed=50))  # heard again
    assert out == [Interval(T0 + sec(120), T0 + sec(400), S.UNKNOWN)]
    # Silence detected only at the next message: the unknown span still starts at the timeout.
    out = b.observe(T0 + sec(1000), readings=good(speed=50))
    assert out == [
        Interval(T0 + sec(400), T0 + sec(520), S.RUNNING),
        Interval(T0 + sec(520), T0 + sec(1000), S.UNKNOWN),
    ]


def test_scans_do_not_revive_a_silent_agent_but_heartbeats_do() -> None:
    b = builder()
    b.observe(T0, readings=good(fault=0, speed=50, mode="AUTO"), job=RUN)
    out = b.observe(T0 + sec(200), job=JobContext(JobStatus.PAUSED, "lunch"))
    assert out == [Interval(T0, T0 + sec(120), S.RUNNING)]
    assert b.current.state is S.UNKNOWN
    out = b.observe(T0 + sec(250), readings={})  # a heartbeat: values unchanged, agent alive
    assert out == [Interval(T0 + sec(120), T0 + sec(250), S.UNKNOWN)]
    assert b.current.state is S.RUNNING
    assert b.observe(T0 + sec(360), readings={}) == []  # heartbeats keep it trusted
    assert b.advance(T0 + sec(480)) == []


def test_offline_agent_and_bad_tag_are_unknown() -> None:
    b = builder()
    b.observe(T0, readings=good(fault=0, speed=50, mode="AUTO"), job=RUN)
    out = b.observe(T0 + sec(10), agent_online=False)
    assert out == [Interval(T0, T0 + sec(10), S.RUNNING)]
    out = b.observe(T0 + sec(20), agent_online=True)
    assert out == [Interval(T0 + sec(10), T0 + sec(20), S.UNKNOWN)]
    out = b.observe(T0 + sec(30), readings={"speed": TagReading(None, TagQuality.BAD)})
    assert out == [Interval(T0 + sec(20), T0 + sec(30), S.RUNNING)]
    assert b.current.state is S.UNKNOWN


def test_builder_refuses_time_going_backwards_and_naive_times() -> None:
    b = builder()
    b.observe(T0 + sec(10))
    with pytest.raises(ValueError, match="older than"):
        b.observe(T0 + sec(5))
    with pytest.raises(ValueError, match="timezone-aware"):
        IntervalBuilder(PRESS, start=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="before it starts"):
        Interval(T0, T0 - sec(1), S.IDLE)
