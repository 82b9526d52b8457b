"""The figures' arithmetic (pure): outcomes and on-time rate, Pareto, percentiles, WIP, span
arithmetic, the lead-time split and the cause of lateness, and period resolution."""

from datetime import UTC, datetime, timedelta

import pytest

from mes.dashboard import figures as fg
from mes.dashboard import spans
from mes.dashboard.periods import PeriodError, resolve

T = datetime(2026, 11, 2, tzinfo=UTC)


def h(n: float) -> datetime:
    return T + timedelta(hours=n)


def test_outcomes_and_rate() -> None:
    now = h(100)
    cases = [
        fg.outcome(h(10), h(9), False, now),  # on time
        fg.outcome(h(10), h(10), False, now),  # exactly at the due date: on time
        fg.outcome(h(10), h(11), False, now),  # late
        fg.outcome(h(10), None, True, now),  # open overdue
        fg.outcome(h(10), None, False, now),  # aborted: late
        fg.outcome(h(200), None, True, now),  # pending
    ]
    assert cases == ["on_time", "on_time", "late", "open_overdue", "late", "pending"]
    counts = fg.on_time(cases)
    assert (counts.due, counts.on_time, counts.late, counts.open_overdue) == (5, 2, 3, 1)
    assert counts.rate == 0.4
    assert fg.on_time([fg.Outcome.PENDING]).rate is None


def test_pareto_sorts_sums_and_accumulates() -> None:
    rows = fg.pareto([("B", 2), ("A", 6), ("C", 2), ("A", 0), ("X", 0), ("Y", -1)])
    assert [(r.key, r.quantity, r.share, r.cumulative) for r in rows] == [
        ("A", 6, 0.6, 0.6),
        ("B", 2, 0.2, 0.8),
        ("C", 2, 0.2, 1.0),
    ]
    assert fg.pareto([]) == []


def test_percentiles_interpolate() -> None:
    assert fg.percentile([], 50) is None
    assert fg.percentile([5], 90) == 5
    assert fg.percentile([1, 2, 3, 4], 50) == 2.5
    assert fg.percentile([26, 52, 27], 90) == pytest.approx(47.0)
    stats = fg.lead_time_stats([10, 20, 30])
    assert (stats.orders, stats.mean_h, stats.p50_h) == (3, 20, 20)


def test_wip_counts_what_reached_each_step_less_what_it_processed() -> None:
    steps = [
        fg.OperationStep(0, "0010", "Stamp", True, 100, 100),
        fg.OperationStep(1, "0020", "Bend", False, 40, 30),
        fg.OperationStep(2, "0030", "Pack", False, 10, 0),
    ]
    out = [(s.number, n) for s, n in fg.wip_of_order(100, steps)]
    assert out == [("0020", 60), ("0030", 20)]
    assert fg.wip_of_order(5, [fg.OperationStep(0, "0010", "Cut", False, 9, 9)]) == []


def test_span_arithmetic() -> None:
    a = [(h(0), h(4)), (h(3), h(6)), (h(8), h(9))]
    assert spans.union(a) == [(h(0), h(6)), (h(8), h(9))]
    assert spans.intersect(a, [(h(5), h(8.5))]) == [(h(5), h(6)), (h(8), h(8.5))]
    assert spans.subtract(a, [(h(1), h(2)), (h(5), h(10))]) == [(h(0), h(1)), (h(2), h(5))]
    assert spans.clip(a, h(2), h(8.5)) == [(h(2), h(6)), (h(8), h(8.5))]
    assert spans.hours(a) == 7


def test_split_parts_add_up_to_the_lead_time() -> None:
    times = fg.split(
        h(0),
        h(52),
        runs=[(h(1), h(4)), (h(26), h(52))],
        holds=[(h(28), h(48))],
        downtime=[(h(26), h(28)), (h(30), h(31)), (h(60), h(61))],
    )
    assert (times.lead_h, times.hold_h, times.downtime_h, times.run_h, times.queue_h) == (
        52,
        20,
        2,
        7,
        23,
    )


def test_split_in_float_hours_equals_split_in_datetimes() -> None:
    runs, holds, stops = [(1.0, 4.0), (26.0, 52.0)], [(28.0, 48.0)], [(26.0, 28.0), (30.0, 31.0)]
    as_hours = fg.split(0.0, 52.0, runs, holds, stops)

    def dt(s: list[tuple[float, float]]) -> list[tuple[datetime, datetime]]:
        return [(h(a), h(b)) for a, b in s]

    assert as_hours == fg.split(h(0), h(52), dt(runs), dt(holds), dt(stops))


def test_cause_is_the_largest_contributor() -> None:
    times = fg.Split(lead_h=50, queue_h=40, run_h=5, hold_h=3, downtime_h=2)
    late_release = fg.contributions(times, window_h=10, standard_h=16, added_h=1)
    assert late_release[fg.Cause.LATE_RELEASE] == 6
    assert fg.cause_of_lateness(True, late_release) is fg.Cause.LATE_RELEASE
    added = fg.contributions(times, window_h=40, standard_h=16, added_h=4)
    assert fg.cause_of_lateness(True, added) is fg.Cause.QUANTITY_CHANGE
    assert fg.cause_of_lateness(False, added) is None
    nothing = fg.contributions(fg.Split(10, 10, 0, 0, 0), 40, 1, 0)
    assert fg.cause_of_lateness(True, nothing) is None
    tie = {fg.Cause.HOLDS: 2.0, fg.Cause.DOWNTIME: 2.0}
    assert fg.cause_of_lateness(True, tie) is fg.Cause.HOLDS


def test_lateness() -> None:
    now = h(100)
    assert fg.lateness_hours(h(10), h(12), now) == 2
    assert fg.lateness_hours(h(10), None, now) == 90
    assert fg.lateness_hours(h(200), None, now) is None
    assert fg.lateness_hours(None, h(1), now) is None


def test_periods_in_the_plant_zone() -> None:
    now = datetime(2026, 12, 6, 17, 30, tzinfo=UTC)  # Monday 7 Dec 01:30 in Shanghai
    today = resolve("today", now, "Asia/Shanghai")
    assert (today.start, today.end) == (
        datetime(2026, 12, 6, 16, tzinfo=UTC),
        datetime(2026, 12, 7, 16, tzinfo=UTC),
    )
    week = resolve("week", now, "Asia/Shanghai")
    assert week.start == datetime(2026, 12, 6, 16, tzinfo=UTC)  # that Monday
    month = resolve("month", now, "Europe/Berlin")
    assert (month.start, month.end) == (
        datetime(2026, 11, 30, 23, tzinfo=UTC),
        datetime(2026, 12, 31, 23, tzinfo=UTC),
    )
    assert today.local_day(now) == "2026-12-07"
    with pytest.raises(PeriodError, match="after"):
        resolve("range", now, "UTC", now, now)
    with pytest.raises(PeriodError, match="at most"):
        resolve("range", now, "UTC", now, now + timedelta(days=401))
    with pytest.raises(PeriodError, match="unknown period"):
        resolve("year", now, "UTC")
