"""Properties: cutting intervals or ranges anywhere changes no total; aggregates are sums."""

import itertools
from dataclasses import fields
from datetime import date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mes.performance.build import build_by_period, build_time_model
from mes.performance.calendar import CalendarVersion, ShiftCalendar, planned_times, shift_instances
from mes.performance.kpi import Quantities, TimeModel, aggregate, kpis, ratio
from mes.performance.states import Interval, IntervalBuilder, JobContext, JobStatus, MachineState
from tests.performance.plant import EARLY, EPOCH, LATE, NIGHT, local
from tests.performance.test_states import PRESS, good

S = MachineState
# Thursday 26 March to Monday 30 March 2026: weekday shifts, the Saturday night over the
# spring-forward change, the weekend without shifts.
CALENDAR = ShiftCalendar((CalendarVersion(EPOCH, "Europe/Berlin", (EARLY, LATE, NIGHT)),))
START = local(date(2026, 3, 26), 0)
END = local(date(2026, 3, 30), 12)
SPAN = int((END - START).total_seconds())
PROPERTY = settings(
    max_examples=150,
    deadline=None,
    database=None,  # no example files in the work tree
    suppress_health_check=[HealthCheck.too_slow],
)

states = st.sampled_from(list(S))


@st.composite
def timelines(draw: st.DrawFn) -> list[Interval]:
    """Back-to-back intervals (some left out: gaps) from 2 h before START to 2 h past END."""
    base, total = START - timedelta(hours=2), SPAN + 4 * 3600
    cuts = sorted(draw(st.lists(st.integers(1, total - 1), max_size=60, unique=True)))
    out: list[Interval] = []
    for lo, hi in zip([0, *cuts], [*cuts, total], strict=True):
        if draw(st.integers(0, 9)) == 0:
            continue  # a gap: unknown
        state, reason = draw(states), draw(st.sampled_from([None, "r"]))
        out.append(
            Interval(base + timedelta(seconds=lo), base + timedelta(seconds=hi), state, reason)
        )
    return out


def offsets() -> st.SearchStrategy[timedelta]:
    return st.integers(1, SPAN - 1).map(lambda s: timedelta(seconds=s))


@PROPERTY
@given(timelines(), st.data())
def test_splitting_an_interval_anywhere_changes_no_total(
    intervals: list[Interval], data: st.DataObject
) -> None:
    whole = build_time_model(intervals, CALENDAR, START, END)
    if not intervals:
        return
    k = data.draw(st.integers(0, len(intervals) - 1))
    iv = intervals[k]
    seconds = int(iv.duration.total_seconds())
    if seconds < 2:
        return
    cut = iv.start + timedelta(seconds=data.draw(st.integers(1, seconds - 1)))
    pieces = [
        Interval(iv.start, cut, iv.state, iv.reason),
        Interval(cut, iv.end, iv.state, iv.reason),
    ]
    split = [*intervals[:k], *pieces, *intervals[k + 1 :]]
    assert build_time_model(split, CALENDAR, START, END) == whole


@PROPERTY
@given(timelines(), offsets())
def test_splitting_the_range_anywhere_changes_no_total(
    intervals: list[Interval], at: timedelta
) -> None:
    middle = START + at
    whole = build_time_model(intervals, CALENDAR, START, END)
    parts = build_time_model(intervals, CALENDAR, START, middle) + build_time_model(
        intervals, CALENDAR, middle, END
    )
    assert parts == whole


def boundaries() -> list[datetime]:
    out = []
    for inst in shift_instances(CALENDAR, START, END):
        out += [inst.start, inst.end]
        for b0, b1 in inst.breaks:
            out += [b0, b1]
    return sorted({b for b in out if START < b < END})


@PROPERTY
@given(timelines(), st.sampled_from(boundaries()))
def test_splitting_the_range_at_any_shift_boundary_changes_no_total(
    intervals: list[Interval], middle: datetime
) -> None:
    whole = build_time_model(intervals, CALENDAR, START, END)
    first = build_time_model(intervals, CALENDAR, START, middle)
    second = build_time_model(intervals, CALENDAR, middle, END)
    assert first + second == whole
    assert kpis(first + second) == kpis(whole)


@PROPERTY
@given(offsets(), offsets())
def test_planned_times_add_over_any_cut(a: timedelta, b: timedelta) -> None:
    lo, hi = sorted((START + a, START + b))
    pot, pdt = planned_times(CALENDAR, START, END)
    parts = [planned_times(CALENDAR, x, y) for x, y in ((START, lo), (lo, hi), (hi, END))]
    assert sum((p for p, _ in parts), timedelta(0)) == pot
    assert sum((d for _, d in parts), timedelta(0)) == pdt


def minutes_of(n: int) -> timedelta:
    return timedelta(minutes=n)


@st.composite
def time_models(draw: st.DrawFn) -> TimeModel:
    part = st.integers(0, 600).map(minutes_of)
    apt, asut, fault, micro, idle, adot, unknown, pdt = (draw(part) for _ in range(8))
    produced = draw(st.integers(0, 2000))
    good_q = draw(st.integers(0, produced))
    scrap = draw(st.integers(0, produced - good_q))
    rework = draw(st.integers(0, produced - good_q - scrap))
    return TimeModel(
        pot=apt + asut + fault + micro + idle + adot + unknown + pdt,
        pdt=pdt,
        apt=apt,
        asut=asut,
        adet_fault=fault,
        adet_micro_stop=micro,
        adet_idle=idle,
        adot=adot,
        unknown=unknown,
        ttr=fault,
        failures=draw(st.integers(0, 5)),
        quantities=Quantities(
            produced=produced,
            good=good_q,
            scrap=scrap,
            rework=rework,
            inspected=produced,
            first_pass_good=good_q,
            ideal_time=timedelta(seconds=draw(st.integers(0, 40_000))),
        ),
    )


@PROPERTY
@given(st.lists(time_models(), min_size=1, max_size=12))
def test_aggregate_then_compute_equals_compute_from_summed_raw_times(
    models: list[TimeModel],
) -> None:
    total = aggregate(models)

    def summed(name: str) -> object:
        values = [getattr(m, name) for m in models]
        return sum(values[1:], values[0])

    for f in fields(TimeModel):
        assert getattr(total, f.name) == summed(f.name)
    apt = sum((m.apt for m in models), timedelta(0))
    observed = sum((m.pbt - m.unknown for m in models), timedelta(0))
    produced = sum(m.quantities.produced for m in models)
    k = kpis(total)
    assert k.availability == ratio(apt, observed)
    assert k.quality_ratio == ratio(sum(m.quantities.good for m in models), produced)
    assert k.scrap_ratio == ratio(sum(m.quantities.scrap for m in models), produced)
    assert k.effectiveness == ratio(
        sum((m.quantities.ideal_time for m in models), timedelta(0)), apt
    )
    # Order of summation does not matter.
    assert aggregate(reversed(models)) == total


@PROPERTY
@given(
    st.lists(
        st.tuples(
            st.integers(0, 400),  # seconds since the previous observation
            st.sampled_from([0, 50]),  # speed
            st.booleans(),  # fault bit
            st.sampled_from([JobStatus.NONE, JobStatus.RUNNING, JobStatus.PAUSED]),
        ),
        max_size=40,
    ),
    st.integers(0, 600),
)
def test_builder_intervals_tile_the_observed_time(
    steps: list[tuple[int, int, bool, JobStatus]], tail: int
) -> None:
    t = START
    builder = IntervalBuilder(PRESS, start=t, micro_stop_threshold=timedelta(seconds=60))
    out: list[Interval] = []
    for gap, speed, fault, job in steps:
        t += timedelta(seconds=gap)
        out += builder.observe(
            t, readings=good(speed=speed, fault=fault, mode="AUTO"), job=JobContext(job)
        )
    out += builder.close(t + timedelta(seconds=tail))
    end = t + timedelta(seconds=tail)
    if end == START:
        assert out == []
        return
    assert out[0].start == START
    assert out[-1].end == end
    for before, after in itertools.pairwise(out):
        assert before.end == after.start
        assert before.duration > timedelta(0)
    for iv in out:
        if iv.state in (S.IDLE, S.FAULT):
            assert iv.duration >= timedelta(seconds=60)


@PROPERTY
@given(timelines(), offsets(), offsets())
def test_per_period_models_sum_to_the_range(
    intervals: list[Interval], a: timedelta, b: timedelta
) -> None:
    lo, hi = sorted((START + a, START + b))
    by_period = build_by_period(intervals, CALENDAR, lo, hi)
    assert aggregate(m for _, m in by_period) == build_time_model(intervals, CALENDAR, lo, hi)
