"""KPIs per ISO 22400-2 from hand-computed time models; undefined ratios; sums, never averages."""

from datetime import timedelta

import pytest

from mes.performance.kpi import (
    Kpis,
    ProductOutput,
    Quantities,
    TimeModel,
    aggregate,
    kpis,
    ratio,
)


def m(n: float) -> timedelta:
    return timedelta(minutes=n)


def one_shift() -> TimeModel:
    # An 8 h shift (POT 480 min) with a 30 min break (PDT): PBT = 450 min, split as
    # APT 360 + ASUT 30 + ADET (fault 25 + micro-stops 5 + idle 10) + ADOT 20 = 450.
    # 1 product, ideal cycle 20 s: 960 produced -> ideal time 960 x 20 s = 19 200 s = 320 min.
    return TimeModel(
        pot=m(480),
        pdt=m(30),
        apt=m(360),
        asut=m(30),
        adet_fault=m(25),
        adet_micro_stop=m(5),
        adet_idle=m(10),
        adot=m(20),
        ttr=m(25),
        failures=1,
        quantities=Quantities.from_outputs(
            [ProductOutput.from_cycle_seconds("bracket", 20, 960, good=912, scrap=30, rework=18)]
        ),
    )


def test_worked_example_one_shift() -> None:
    k = kpis(one_shift())
    assert k.availability == pytest.approx(360 / 450)  # APT / PBT = 0.8
    assert k.effectiveness == pytest.approx(320 / 360)  # PRU x PQ / APT = 0.888...
    assert k.quality_ratio == pytest.approx(912 / 960)  # GQ / PQ = 0.95
    assert k.oee == pytest.approx(0.8 * (320 / 360) * 0.95)  # = 320 x 0.95 / 450 = 0.6756
    assert k.oee == pytest.approx(320 / 450 * 0.95)
    assert k.nee == pytest.approx(390 / 450 * (320 / 360) * 0.95)  # AUPT / PBT x E x QR
    assert k.technical_efficiency == pytest.approx(360 / (360 + 40))  # APT / (APT + ADET)
    assert k.utilization_efficiency == pytest.approx(360 / 430)  # APT / AUBT
    assert k.allocation_efficiency == pytest.approx(430 / 450)  # AUBT / PBT
    assert k.setup_ratio == pytest.approx(30 / 390)  # ASUT / AUPT
    assert k.first_pass_yield == pytest.approx(912 / 960)
    assert k.scrap_ratio == pytest.approx(30 / 960)
    assert k.rework_ratio == pytest.approx(18 / 960)
    assert k.mtbf == m(390)  # AUPT / FE
    assert k.mttr == m(25)  # TTR / FE
    assert k.coverage == 1.0


def test_ideal_time_sums_per_product() -> None:
    # Two products on one unit: 100 x 30 s + 50 x 90 s = 3000 + 4500 = 7500 s.
    q = Quantities.from_outputs(
        [
            ProductOutput.from_cycle_seconds("a", 30, 100, good=100),
            ProductOutput.from_cycle_seconds("b", 90, 50, good=48, scrap=2),
        ]
    )
    assert q.ideal_time == timedelta(seconds=7500)
    assert (q.produced, q.good, q.scrap, q.inspected, q.first_pass_good) == (150, 148, 2, 150, 148)
    model = TimeModel(pot=m(150), apt=m(150), quantities=q)
    assert kpis(model).effectiveness == pytest.approx(7500 / 9000)


def test_zero_denominators_are_undefined_not_zero() -> None:
    k = kpis(TimeModel())
    assert all(value is None for value in vars_of(k).values())
    # A unit that was planned but never ran: availability 0, effectiveness undefined.
    idle = kpis(TimeModel(pot=m(60), adot=m(60)))
    assert idle.availability == 0.0
    assert idle.effectiveness is None
    assert idle.quality_ratio is None
    assert idle.oee is None
    assert idle.mtbf is None
    assert idle.mttr is None
    assert idle.technical_efficiency is None  # APT + ADET = 0
    assert ratio(0, 0) is None
    assert ratio(timedelta(0), timedelta(0)) is None


def vars_of(k: Kpis) -> dict[str, object]:
    return {name: getattr(k, name) for name in k.__slots__}


def test_unknown_time_is_neither_running_nor_loss() -> None:
    # PBT 100 min: running 60, fault 20, unknown 20. Availability uses the observed 80 min.
    model = TimeModel(pot=m(100), apt=m(60), adet_fault=m(20), unknown=m(20), failures=1)
    k = kpis(model)
    assert k.availability == pytest.approx(60 / 80)
    assert k.coverage == pytest.approx(80 / 100)
    all_unknown = kpis(TimeModel(pot=m(100), unknown=m(100)))
    assert all_unknown.availability is None
    assert all_unknown.coverage == 0.0


def test_aggregation_sums_times_never_averages_ratios() -> None:
    # Shift 1: PBT 450, APT 450 (A = 1.0). Shift 2: PBT 90, APT 45 (A = 0.5).
    # Average of ratios would be 0.75; the right figure is (450 + 45) / (450 + 90) = 0.9166...
    first = TimeModel(pot=m(450), apt=m(450))
    second = TimeModel(pot=m(90), apt=m(45), adot=m(45))
    total = aggregate([first, second])
    assert total == first + second
    assert total.pbt == m(540)
    assert total.apt == m(495)
    assert kpis(total).availability == pytest.approx(495 / 540)
    assert kpis(total).availability != pytest.approx(0.75)
    with pytest.raises(TypeError):
        _ = kpis(first) + kpis(second)  # type: ignore[operator]


def test_aggregate_of_nothing_is_the_empty_model() -> None:
    assert aggregate([]) == TimeModel()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pot": m(10), "apt": m(5)}, "every second of planned busy time"),
        ({"pot": m(10), "pdt": m(20)}, "PDT"),
        ({"apt": m(-1)}, "apt must not be negative"),
        ({"failures": -1}, "failures must not be negative"),
        ({"apt": 5}, "apt must be a timedelta"),
    ],
)
def test_inconsistent_time_model_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        TimeModel(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"produced": 10, "good": 8, "scrap": 2, "rework": 1}, "exceeds produced"),
        ({"inspected": 1, "first_pass_good": 2}, "first_pass_good"),
        ({"produced": -1}, "produced must not be negative"),
        ({"good": 1.5}, "good must be an int"),
    ],
)
def test_inconsistent_quantities_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        Quantities(**kwargs)  # type: ignore[arg-type]


def test_record_round_trip_is_exact() -> None:
    model = one_shift()
    record = model.as_record()
    assert record["apt_s"] == 360 * 60
    assert record["ideal_time_s"] == 19_200
    assert record["produced"] == 960
    assert record["failures"] == 1
    assert "quantities" not in record
    assert TimeModel.from_record(record) == model
    odd = TimeModel(pot=timedelta(days=31, microseconds=7), apt=timedelta(days=31, microseconds=7))
    assert TimeModel.from_record(odd.as_record()) == odd
    assert TimeModel.from_record({}) == TimeModel()
    with pytest.raises(ValueError, match="produced must be a whole number"):
        TimeModel.from_record({"produced": 2.5})
