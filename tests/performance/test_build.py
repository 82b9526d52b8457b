"""Time models built from state intervals and the calendar, checked against hand arithmetic."""

from datetime import date, timedelta

import pytest

from mes.performance.build import IntervalError, Zone, build_by_period, build_time_model, zones
from mes.performance.kpi import ProductOutput, Quantities, aggregate, kpis
from mes.performance.states import Interval, MachineState
from tests.performance.plant import local, minutes, night_on_saturdays, run, two_shifts

S = MachineState
TUESDAY = date(2026, 3, 3)  # CET (UTC+1); early 06-14 (break 10:00-10:30), late 14-22 (18:00-18:30)


def tuesday_intervals() -> list[Interval]:
    early = run(
        local(TUESDAY, 6),
        (40, S.SETUP),  # 06:00-06:40
        (200, S.RUNNING),  # 06:40-10:00
        (30, S.IDLE),  # 10:00-10:30 break: planned downtime
        (30, S.RUNNING),  # 10:30-11:00
        (5, S.MICRO_STOP),  # 11:00-11:05
        (55, S.RUNNING),  # 11:05-12:00
        (45, S.FAULT),  # 12:00-12:45 failure 1
        (75, S.RUNNING),  # 12:45-14:00
    )
    late = run(
        local(TUESDAY, 14),
        (60, S.RUNNING),  # 14:00-15:00
        (30, S.NO_ORDER),  # 15:00-15:30
        (20, S.SETUP),  # 15:30-15:50
        (130, S.RUNNING),  # 15:50-18:00
        (30, S.RUNNING),  # 18:00-18:30 runs through the break
        (30, S.FAULT),  # 18:30-19:00 failure 2
    )
    # 19:00-20:00: no interval at all (agent silent, nothing stored) -> unknown
    evening = run(
        local(TUESDAY, 20),
        (60, S.IDLE),  # 20:00-21:00 idle with an order (waiting for material)
        (60, S.RUNNING),  # 21:00-22:00
        (10, S.RUNNING),  # 22:00-22:10 after the shift end
        (110, S.IDLE),  # 22:10-24:00 no shift: not counted
    )
    return early + late + evening


TUESDAY_OUTPUT = Quantities.from_outputs(
    [
        ProductOutput.from_cycle_seconds("A", 30, 800, good=760, scrap=15, rework=25),
        ProductOutput.from_cycle_seconds("B", 45, 200, good=190, scrap=6, rework=4),
    ]
)


def test_worked_example_two_shifts() -> None:
    day = (local(TUESDAY, 0), local(TUESDAY + timedelta(1), 0))
    model = build_time_model(tuesday_intervals(), two_shifts(), *day, TUESDAY_OUTPUT)
    # Calendar: POT 2 x 480 = 960 min, PDT 2 x 30 = 60 min.
    # Running 10 min after the late shift adds to POT: 960 + 10 = 970.
    # Running through the late break leaves PDT: 60 - 30 = 30.  PBT = 970 - 30 = 940.
    assert model.pot == minutes(970)
    assert model.pdt == minutes(30)
    assert model.pbt == minutes(940)
    assert model.apt == minutes(200 + 30 + 55 + 75 + 60 + 130 + 30 + 60 + 10)  # 650
    assert model.asut == minutes(40 + 20)  # 60
    assert (model.adet_fault, model.adet_micro_stop, model.adet_idle) == (
        minutes(75),
        minutes(5),
        minutes(60),
    )
    assert model.adot == minutes(30)
    assert model.unknown == minutes(60)
    assert (model.processing_in_pdt, model.processing_outside_shifts) == (minutes(30), minutes(10))
    assert model.failures == 2
    assert model.ttr == minutes(45 + 30)
    # 650 + 60 + 140 + 30 + 60 = 940 = PBT.
    k = kpis(model)
    # Ideal time: 800 x 30 s + 200 x 45 s = 24 000 + 9 000 = 33 000 s = 550 min.
    assert model.quantities.ideal_time == minutes(550)
    assert k.availability == pytest.approx(650 / 880)  # APT / (PBT - unknown) = 0.7386
    assert k.effectiveness == pytest.approx(550 / 650)  # 0.8462
    assert k.quality_ratio == pytest.approx(950 / 1000)  # 0.95
    assert k.oee == pytest.approx(550 / 880 * 0.95)  # = 0.625 x 0.95 = 0.59375
    assert k.oee == pytest.approx(0.59375)
    assert k.nee == pytest.approx(710 / 880 * 550 / 650 * 0.95)
    assert k.technical_efficiency == pytest.approx(650 / (650 + 140))
    assert k.setup_ratio == pytest.approx(60 / 710)
    assert k.mtbf == minutes(710 / 2)  # AUPT / FE = 355 min
    assert k.mttr == minutes(75 / 2)  # 37.5 min
    assert k.scrap_ratio == pytest.approx(21 / 1000)
    assert k.rework_ratio == pytest.approx(29 / 1000)
    assert k.first_pass_yield == pytest.approx(950 / 1000)
    assert k.coverage == pytest.approx(880 / 940)


def test_shifts_add_up_to_the_day() -> None:
    intervals = tuesday_intervals()
    cal = two_shifts()
    early = build_time_model(intervals, cal, local(TUESDAY, 0), local(TUESDAY, 14))
    late = build_time_model(intervals, cal, local(TUESDAY, 14), local(TUESDAY + timedelta(1), 0))
    day = build_time_model(intervals, cal, local(TUESDAY, 0), local(TUESDAY + timedelta(1), 0))
    assert early + late == day
    # Early shift alone: PBT 450 = APT 360 + ASUT 40 + micro 5 + fault 45; A = 360/450 = 0.8.
    assert (early.pbt, early.apt, early.asut) == (minutes(450), minutes(360), minutes(40))
    assert kpis(early).availability == pytest.approx(0.8)
    # Late shift: PBT 490 (450 + 30 break run + 10 after end), unknown 60 -> A = 290/430.
    assert late.pbt == minutes(490)
    assert late.apt == minutes(290)
    assert kpis(late).availability == pytest.approx(290 / 430)
    # Never the mean of the two availabilities: (0.8 + 0.6744) / 2 = 0.737 != 650/880 = 0.7386.
    assert kpis(day).availability != pytest.approx((0.8 + 290 / 430) / 2, abs=1e-4)


def test_worked_example_spring_forward_night() -> None:
    # Night 28->29 March 2026, 22:00 CET (21:00 UTC) to 06:00 CEST (04:00 UTC) = 420 min real time,
    # break 00:00-00:30 CET. PBT = 420 - 30 = 390 min.
    saturday = date(2026, 3, 28)
    start = local(saturday, 22)
    intervals = run(
        start,
        (120, S.RUNNING),  # 22:00-00:00 CET
        (30, S.IDLE),  # 00:00-00:30 break
        (90, S.RUNNING),  # 00:30-02:00 CET
        (20, S.FAULT),  # 03:00-03:20 CEST (02:00 CET is 03:00 CEST)
        (160, S.RUNNING),  # 03:20-06:00 CEST
    )
    assert intervals[-1].end == local(saturday + timedelta(1), 6)
    output = Quantities.from_outputs(
        [ProductOutput.from_cycle_seconds("lid", 60, 350, good=340, scrap=10)]
    )
    model = build_time_model(
        intervals, night_on_saturdays(), start, local(saturday + timedelta(1), 6), output
    )
    assert (model.pot, model.pdt, model.pbt) == (minutes(420), minutes(30), minutes(390))
    assert model.apt == minutes(120 + 90 + 160)  # 370
    assert model.adet_fault == minutes(20)
    assert model.failures == 1
    k = kpis(model)
    assert k.availability == pytest.approx(370 / 390)
    assert k.effectiveness == pytest.approx(350 / 370)  # 350 x 1 min / 370 min
    assert k.quality_ratio == pytest.approx(340 / 350)
    # OEE collapses to good quantity x ideal time / PBT = 340 / 390.
    assert k.oee == pytest.approx(340 / 390)


def test_planned_stop_in_shift_is_planned_downtime() -> None:
    # 06:00-14:00 with break: 60 min planned stop (maintenance) + 390 running.
    intervals = run(local(TUESDAY, 6), (60, S.PLANNED_STOP), (420, S.RUNNING))
    model = build_time_model(intervals, two_shifts(), local(TUESDAY, 6), local(TUESDAY, 14))
    # Calendar PDT 30 + planned stop 60 = 90; break was run through: 90 - 30 = 60.
    assert model.pdt == minutes(60)
    assert model.apt == minutes(420)
    assert model.pbt == minutes(420)
    assert kpis(model).availability == 1.0


def test_stops_outside_shifts_count_nowhere_and_unknown_fills_gaps() -> None:
    saturday = date(2026, 3, 7)  # no shift on Saturday
    intervals = run(local(saturday, 8), (60, S.FAULT), (60, S.IDLE))
    model = build_time_model(intervals, two_shifts(), local(saturday, 0), local(saturday, 23))
    assert model.pot == model.pbt == timedelta(0)
    assert model.failures == 1
    assert model.ttr == minutes(60)
    empty = build_time_model([], two_shifts(), local(TUESDAY, 6), local(TUESDAY, 14))
    assert empty.unknown == empty.pbt == minutes(450)
    assert kpis(empty).availability is None


def test_a_fault_counts_once_where_it_starts() -> None:
    # A fault 13:30-14:30 crosses the shift change; split into two stored intervals.
    intervals = run(
        local(TUESDAY, 13), (30, S.RUNNING), (30, S.FAULT), (30, S.FAULT), (30, S.RUNNING)
    )
    cal = two_shifts()
    early = build_time_model(intervals, cal, local(TUESDAY, 13), local(TUESDAY, 14))
    late = build_time_model(intervals, cal, local(TUESDAY, 14), local(TUESDAY, 15))
    assert (early.failures, late.failures) == (1, 0)
    blip = Interval(local(TUESDAY, 13, 10), local(TUESDAY, 13, 10), S.FAULT)  # zero length
    assert (
        build_time_model([*intervals, blip], cal, local(TUESDAY, 13), local(TUESDAY, 14)) == early
    )
    assert (early.ttr, late.ttr) == (minutes(30), minutes(30))


def test_zones_cover_the_range() -> None:
    segs = zones(two_shifts(), local(TUESDAY, 5), local(TUESDAY, 11))
    assert [(s.zone, s.end - s.start) for s in segs] == [
        (Zone.OFF, minutes(60)),
        (Zone.BUSY, minutes(240)),
        (Zone.BREAK, minutes(30)),
        (Zone.BUSY, minutes(30)),
    ]


def test_overlapping_intervals_and_naive_ranges_are_refused() -> None:
    bad = [*run(local(TUESDAY, 6), (60, S.RUNNING)), *run(local(TUESDAY, 6, 30), (60, S.IDLE))]
    with pytest.raises(IntervalError, match="overlap"):
        build_time_model(bad, two_shifts(), local(TUESDAY, 6), local(TUESDAY, 14))
    with pytest.raises(IntervalError, match="before it starts"):
        build_time_model([], two_shifts(), local(TUESDAY, 14), local(TUESDAY, 6))
    with pytest.raises(IntervalError, match="timezone-aware"):
        build_time_model(
            [], two_shifts(), local(TUESDAY, 6).replace(tzinfo=None), local(TUESDAY, 14)
        )


def test_periods_follow_the_shifts_and_sum_to_the_range() -> None:
    day = (local(TUESDAY, 0), local(TUESDAY + timedelta(1), 0))
    by_period = build_by_period(tuesday_intervals(), two_shifts(), *day)
    assert [(p.shift.name if p.shift else None, p.start, p.end) for p, _ in by_period] == [
        (None, local(TUESDAY, 0), local(TUESDAY, 6)),
        ("early", local(TUESDAY, 6), local(TUESDAY, 14)),
        ("late", local(TUESDAY, 14), local(TUESDAY, 22)),
        (None, local(TUESDAY, 22), day[1]),
    ]
    total = aggregate(model for _, model in by_period)
    assert total == build_time_model(tuesday_intervals(), two_shifts(), *day)
    late = by_period[2][1]
    # The late shift alone: APT 60 + 130 + 30 + 60 = 280, ADOT 30, ASUT 20, fault 30 + idle 60,
    # unknown 60; the 10 min run after 22:00 belongs to the period after the shift.
    assert (late.apt, late.asut, late.adot, late.unknown) == (
        minutes(280),
        minutes(20),
        minutes(30),
        minutes(60),
    )
    assert by_period[3][1].processing_outside_shifts == minutes(10)


def test_time_between_shifts_is_cut_at_local_midnight_over_a_dst_weekend() -> None:
    """Friday's late shift to Monday's early one: one period per local day (Sunday 29 March
    2026 has 23 hours in Berlin), so a day or a month later starts on a stored period."""
    friday, saturday, sunday, monday = (date(2026, 3, d) for d in (27, 28, 29, 30))
    start, end = local(friday, 20), local(monday, 8)
    by_period = build_by_period([], two_shifts(), start, end)
    assert [(p.shift.name if p.shift else None, p.start, p.end) for p, _ in by_period] == [
        ("late", start, local(friday, 22)),
        (None, local(friday, 22), local(saturday, 0)),
        (None, local(saturday, 0), local(sunday, 0)),
        (None, local(sunday, 0), local(monday, 0)),
        (None, local(monday, 0), local(monday, 6)),
        ("early", local(monday, 6), end),
    ]
    sunday_period = by_period[3][0]
    assert sunday_period.end - sunday_period.start == timedelta(hours=23)
    total = aggregate(model for _, model in by_period)
    assert total == build_time_model([], two_shifts(), start, end)
