from edge.alarms.conditions import Condition, ConditionEngine, ConditionEvent
from edge.model import Quality
from tests.alarms.helpers import alarm, reading

PATHS = {"oven-01": "finishing/line1/oven1"}


def engine(*defs: object) -> ConditionEngine:
    return ConditionEngine(defs, PATHS)  # type: ignore[arg-type]


def feed(eng: ConditionEngine, *values: tuple[int, object]) -> list[ConditionEvent]:
    out: list[ConditionEvent] = []
    for ts, v in values:
        out += eng.observe("oven-01", [reading("temperature", v, ts)])  # type: ignore[arg-type]
    return out


def test_high_limit_raises_with_source_timestamp_and_clears_with_hysteresis() -> None:
    eng = engine(
        alarm(
            kind="limit",
            level="HH",
            limit=200,
            deadband=5,
            priority="critical",
            message="{path}: {value:.1f} {unit} above {limit}",
        )
    )
    events = feed(eng, (1000, 190.0), (2000, 201.5), (3000, 197.0), (4000, 194.0))
    assert [(e.condition, e.ts) for e in events] == [
        (Condition.RAISED, 2000),
        (Condition.CLEARED, 4000),
    ]
    raised = events[0]
    assert raised.alarm == "oven-01.temperature.hh"
    assert raised.since == 2000
    assert raised.limit == 200
    assert raised.priority == "critical"
    assert raised.message == "finishing/line1/oven1/oven-01: 201.5 degC above 200.0"
    assert raised.event_id == "oven-01.temperature.hh@2000:raised"


def test_low_limit_and_on_delay_keep_the_start_of_the_condition() -> None:
    eng = engine(alarm(kind="limit", level="L", limit=150, on_delay_s=2))
    assert feed(eng, (0, 149.0), (1000, 148.0), (1500, 151.0), (1600, 149.0)) == []
    events = feed(eng, (3000, 140.0), (3700, 139.0))
    assert [(e.condition, e.ts, e.since) for e in events] == [(Condition.RAISED, 3700, 1600)]


def test_off_delay_holds_the_alarm_until_normal_lasted() -> None:
    eng = engine(alarm(kind="limit", level="H", limit=100, off_delay_s=1))
    events = feed(eng, (0, 101.0), (100, 90.0), (500, 101.0), (600, 90.0), (1599, 90.0))
    assert [e.condition for e in events] == [Condition.RAISED]
    events = feed(eng, (1600, 90.0))
    assert [(e.condition, e.ts) for e in events] == [(Condition.CLEARED, 1600)]


def test_tick_fires_an_on_delay_when_no_new_reading_comes() -> None:
    eng = engine(alarm(kind="limit", level="H", limit=100, on_delay_s=5))
    assert feed(eng, (1000, 120.0)) == []
    assert eng.tick(5999) == []
    events = eng.tick(6000)
    assert [(e.condition, e.ts, e.since, e.value) for e in events] == [
        (Condition.RAISED, 6000, 1000, 120.0)
    ]
    assert eng.tick(7000) == []


def test_bad_data_does_not_move_a_limit_alarm_but_raises_a_quality_alarm() -> None:
    eng = engine(
        alarm(kind="limit", level="H", limit=100), alarm(kind="quality", for_s=2, priority="low")
    )
    bad = [reading("temperature", None, ts, Quality.BAD) for ts in (0, 1000, 2000)]
    events = [e for r in bad for e in eng.observe("oven-01", [r])]
    assert [(e.alarm, e.condition, e.ts, e.since) for e in events] == [
        ("oven-01.temperature.quality", Condition.RAISED, 2000, 0)
    ]
    events = eng.observe("oven-01", [reading("temperature", 50.0, 3000)])
    assert [(e.alarm, e.condition) for e in events] == [
        ("oven-01.temperature.quality", Condition.CLEARED)
    ]


def test_stale_data_counts_as_bad_for_a_quality_alarm() -> None:
    eng = engine(alarm(kind="quality", for_s=0))
    events = eng.observe("oven-01", [reading("temperature", 5.0, 10, stale=True)])
    assert [e.condition for e in events] == [Condition.RAISED]


def test_discrete_state_alarm() -> None:
    eng = engine(alarm(tag="state", kind="state", values=["FAULT", "ESTOP"]))
    events = []
    for ts, v in ((0, "RUNNING"), (1, "FAULT"), (2, "ESTOP"), (3, "IDLE")):
        events += eng.observe("oven-01", [reading("state", v, ts)])
    assert [(e.condition, e.ts) for e in events] == [
        (Condition.RAISED, 1),
        (Condition.CLEARED, 3),
    ]


def test_rate_of_change_uses_source_timestamps() -> None:
    eng = engine(alarm(kind="rate_of_change", max_per_s=2, direction="rising"))
    # +1/s, then +5/s, then falling fast (ignored when rising only), then flat
    events = feed(eng, (0, 10.0), (1000, 11.0), (2000, 16.0), (3000, 6.0), (4000, 6.0))
    assert [(e.condition, e.ts) for e in events] == [
        (Condition.RAISED, 2000),
        (Condition.CLEARED, 3000),
    ]
    assert events[0].limit == 2.0


def test_suppression_by_design_hides_process_alarms_during_setup() -> None:
    eng = engine(
        alarm(
            kind="limit",
            level="H",
            limit=100,
            suppress_when={"tag": "state", "values": ["SETUP", "IDLE"]},
        )
    )
    out = eng.observe("oven-01", [reading("temperature", 120.0, 0)])
    assert [e.condition for e in out] == [Condition.RAISED]
    # setup starts in the same batch as another high value: suppression wins
    out = eng.observe("oven-01", [reading("temperature", 130.0, 10), reading("state", "SETUP", 10)])
    assert [e.condition for e in out] == [Condition.SUPPRESSED]
    assert feed(eng, (20, 140.0)) == []
    out = eng.observe("oven-01", [reading("state", "RUNNING", 30)])
    assert [e.condition for e in out] == [Condition.UNSUPPRESSED]
    assert [e.condition for e in feed(eng, (40, 140.0))] == [Condition.RAISED]


def test_snapshot_restore_raises_nothing_twice() -> None:
    defn = alarm(kind="limit", level="H", limit=100)
    first = engine(defn)
    assert [e.condition for e in feed(first, (0, 120.0))] == [Condition.RAISED]
    snap = first.snapshot()
    second = engine(defn)
    assert second.restore({**snap, "gone.tag.h": {"active": True}}) == ["gone.tag.h"]
    assert feed(second, (1000, 125.0)) == []
    assert [e.condition for e in feed(second, (2000, 50.0))] == [Condition.CLEARED]


def test_other_devices_and_tags_cost_nothing() -> None:
    eng = engine(alarm(kind="limit", level="H", limit=100))
    assert eng.observe("press-01", [reading("temperature", 500.0, 0)]) == []
    assert eng.observe("oven-01", [reading("setpoint", 500.0, 0)]) == []


def test_event_json_round_trip() -> None:
    eng = engine(alarm(kind="limit", level="H", limit=100))
    (ev,) = feed(eng, (5, 101.0))
    assert ConditionEvent.from_json("oven-01", ev.to_json()) == ev


def test_message_with_a_format_spec_survives_a_missing_value() -> None:
    eng = engine(alarm(kind="quality", for_s=0, message="{tag} bad: {value:.1f}"))
    (ev,) = eng.observe("oven-01", [reading("temperature", None, 0, Quality.BAD)])
    assert ev.message == "temperature bad: "


def test_watched_tags_are_the_alarm_and_suppression_tags() -> None:
    eng = engine(
        alarm(
            kind="limit", level="H", limit=100, suppress_when={"tag": "state", "values": ["SETUP"]}
        )
    )
    assert eng.watched_tags("oven-01") == {"temperature", "state"}
    assert eng.watched_tags("press-09") == frozenset()
