from datetime import UTC, datetime, timedelta

from mes.alarms.health import ActiveAlarm, RaiseRecord, health

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_rates_floods_chattering_stale_and_bad_actors() -> None:
    raises = [RaiseRecord(f"press.a{i}", "stamping", at(i * 30)) for i in range(12)]  # 11 in 6 min
    raises += [RaiseRecord("oven.t.hh", "finishing", at(3600 + s)) for s in (0, 20, 40, 200)]
    raises += [RaiseRecord("oven.t.h", "finishing", at(s)) for s in (0, 61, 122)]
    active = [
        ActiveAlarm("old", "finishing", T0 - timedelta(hours=30)),
        ActiveAlarm("new", "finishing", T0),
    ]
    h = health(raises, active, T0, T0 + timedelta(hours=2))
    (stamping,) = (a for a in h.areas if a.area == "stamping")
    assert (stamping.total, stamping.peak_10_min) == (12, 12)
    assert stamping.per_10_min == 1.0  # 12 raises over 12 ten-minute windows
    assert [(f.area, f.start, f.end, f.count) for f in h.floods] == [
        ("stamping", at(0), at(330), 12)
    ]
    assert [(c.alarm, c.max_per_minute) for c in h.chattering] == [("oven.t.hh", 3)]
    assert [a.alarm for a in h.stale] == ["old"]
    assert h.bad_actors[:2] == [("oven.t.hh", 4), ("oven.t.h", 3)]
    assert len(h.bad_actors) == 10


def test_ten_alarms_in_ten_minutes_is_not_a_flood() -> None:
    raises = [RaiseRecord(f"a{i}", "x", at(i * 59)) for i in range(10)]
    raises.append(RaiseRecord("late", "x", at(601)))  # the first one has left the window
    assert health(raises, [], T0, at(3600)).floods == []


def test_raises_outside_the_period_are_ignored() -> None:
    h = health([RaiseRecord("a", "x", at(-1))], [], T0, at(60))
    assert h.areas == []
    assert h.bad_actors == []
