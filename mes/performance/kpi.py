"""The ISO 22400-2 time model of a work unit over a period, and the KPIs computed from it.

A `TimeModel` holds only additive figures (durations, quantities, failure counts). Adding two
models (`+` or `aggregate`) sums them; every KPI is then computed from the sums. There is
deliberately no way to add or average `Kpis`: a ratio of sums is the only correct aggregate.

Every ratio whose denominator is zero is `None` (undefined), never 0 and never an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import timedelta

ZERO = timedelta(0)


def _check_durations(owner: object, names: Iterable[str]) -> None:
    for name in names:
        value = getattr(owner, name)
        if not isinstance(value, timedelta):
            raise TypeError(f"{type(owner).__name__}.{name} must be a timedelta, got {value!r}")
        if value < ZERO:
            raise ValueError(f"{type(owner).__name__}.{name} must not be negative, got {value}")


def _check_counts(owner: object, names: Iterable[str]) -> None:
    for name in names:
        value = getattr(owner, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{type(owner).__name__}.{name} must be an int, got {value!r}")
        if value < 0:
            raise ValueError(f"{type(owner).__name__}.{name} must not be negative, got {value}")


def ratio(numerator: timedelta | int, denominator: timedelta | int) -> float | None:
    """numerator / denominator, or None when the denominator is zero (the ratio is undefined)."""
    if not denominator:
        return None
    if isinstance(numerator, timedelta) and isinstance(denominator, timedelta):
        return numerator / denominator
    if isinstance(numerator, int) and isinstance(denominator, int):
        return numerator / denominator
    raise TypeError(f"ratio of {numerator!r} to {denominator!r}: mixed kinds")


@dataclass(frozen=True, slots=True)
class ProductOutput:
    """What a work unit made of one product: the routing operation's ideal cycle time and counts."""

    product: str
    ideal_cycle_time: timedelta  # planned run time per unit (PRU), from the routing operation
    produced: int
    good: int = 0
    scrap: int = 0
    rework: int = 0

    @classmethod
    def from_cycle_seconds(
        cls,
        product: str,
        cycle_time_s: float,
        produced: int,
        good: int = 0,
        scrap: int = 0,
        rework: int = 0,
    ) -> ProductOutput:
        return cls(product, timedelta(seconds=cycle_time_s), produced, good, scrap, rework)


@dataclass(frozen=True, slots=True)
class Quantities:
    """Produced, good, scrap and rework quantities (PQ, GQ, SQ, RQ) and the ideal time they took.

    `ideal_time` is the sum over products of PRU x PQ (the routing operation's ideal cycle time
    times the quantity produced of that product); with one product it is PRU x PQ.
    `inspected` and `first_pass_good` (IP, GP) feed the first-pass yield.
    """

    produced: int = 0
    good: int = 0
    scrap: int = 0
    rework: int = 0
    planned: int = 0
    inspected: int = 0
    first_pass_good: int = 0
    ideal_time: timedelta = ZERO

    def __post_init__(self) -> None:
        _check_counts(
            self,
            ("produced", "good", "scrap", "rework", "planned", "inspected", "first_pass_good"),
        )
        _check_durations(self, ("ideal_time",))
        if self.good + self.scrap + self.rework > self.produced:
            raise ValueError(
                f"Quantities: good + scrap + rework ({self.good} + {self.scrap} + {self.rework})"
                f" exceeds produced ({self.produced})"
            )
        if self.first_pass_good > self.inspected:
            raise ValueError(
                f"Quantities: first_pass_good ({self.first_pass_good}) exceeds"
                f" inspected ({self.inspected})"
            )

    def __add__(self, other: Quantities) -> Quantities:
        if not isinstance(other, Quantities):
            return NotImplemented
        return Quantities(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    @classmethod
    def from_outputs(cls, outputs: Iterable[ProductOutput], *, planned: int = 0) -> Quantities:
        """Sum several products' outputs; every produced unit counts as inspected once."""
        total = cls(planned=planned)
        for out in outputs:
            total = total + cls(
                produced=out.produced,
                good=out.good,
                scrap=out.scrap,
                rework=out.rework,
                inspected=out.produced,
                first_pass_good=out.good,
                ideal_time=out.ideal_cycle_time * out.produced,
            )
        return total


def _flat(figures: object) -> dict[str, float | int]:
    out: dict[str, float | int] = {}
    for f in fields(figures):  # type: ignore[arg-type]
        value = getattr(figures, f.name)
        if isinstance(value, timedelta):
            out[f"{f.name}_s"] = value.total_seconds()
        elif isinstance(value, int):
            out[f.name] = value
    return out


_DURATIONS = (
    "pot",
    "pdt",
    "apt",
    "asut",
    "adet_fault",
    "adet_micro_stop",
    "adet_idle",
    "adot",
    "unknown",
    "ttr",
    "processing_in_pdt",
    "processing_outside_shifts",
)


@dataclass(frozen=True, slots=True)
class TimeModel:
    """The ISO 22400-2 time elements of one work unit over one period (or a sum of them).

    Planned busy time PBT = POT - PDT splits, without gaps or overlap, into
    APT (running) + ASUT (setup) + ADET (fault + micro-stop + idle with an order)
    + ADOT (no order: delay without an order) + unknown (no trustworthy data).
    `ttr` is the total time to restoration of the `failures` (FE) that started in the period.
    `processing_in_pdt` and `processing_outside_shifts` say how much of APT + ASUT fell in a
    break or outside every shift (already moved out of PDT / into POT; see docs/performance.md).
    """

    pot: timedelta = ZERO
    pdt: timedelta = ZERO
    apt: timedelta = ZERO
    asut: timedelta = ZERO
    adet_fault: timedelta = ZERO
    adet_micro_stop: timedelta = ZERO
    adet_idle: timedelta = ZERO
    adot: timedelta = ZERO
    unknown: timedelta = ZERO
    ttr: timedelta = ZERO
    failures: int = 0
    processing_in_pdt: timedelta = ZERO
    processing_outside_shifts: timedelta = ZERO
    quantities: Quantities = Quantities()

    def __post_init__(self) -> None:
        _check_durations(self, _DURATIONS)
        _check_counts(self, ("failures",))
        if self.pdt > self.pot:
            raise ValueError(f"TimeModel: PDT ({self.pdt}) exceeds POT ({self.pot})")
        accounted = self.apt + self.asut + self.adet + self.adot + self.unknown
        if accounted != self.pbt:
            raise ValueError(
                f"TimeModel: PBT = POT - PDT = {self.pbt} but APT + ASUT + ADET + ADOT + unknown"
                f" = {accounted}; every second of planned busy time needs exactly one state"
            )

    @property
    def pbt(self) -> timedelta:
        """Planned busy time (PBT) = POT - PDT."""
        return self.pot - self.pdt

    @property
    def adet(self) -> timedelta:
        """Actual unit delay time (ADET): faults, micro-stops and idle time with an order."""
        return self.adet_fault + self.adet_micro_stop + self.adet_idle

    @property
    def aupt(self) -> timedelta:
        """Actual unit processing time (AUPT) = APT + ASUT."""
        return self.apt + self.asut

    @property
    def aubt(self) -> timedelta:
        """Actual unit busy time (AUBT) = AUPT + ADET."""
        return self.aupt + self.adet

    @property
    def observed_pbt(self) -> timedelta:
        """PBT less the time with an unknown state: the base of every time ratio."""
        return self.pbt - self.unknown

    def __add__(self, other: TimeModel) -> TimeModel:
        if not isinstance(other, TimeModel):
            return NotImplemented
        return TimeModel(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def as_record(self) -> dict[str, float | int]:
        """Flat figures for storage, CSV and messages: durations as `<name>_s` in seconds."""
        return _flat(self) | _flat(self.quantities)

    @classmethod
    def from_record(cls, record: Mapping[str, float | int]) -> TimeModel:
        """The inverse of `as_record` (exact to the microsecond); missing figures are zero."""

        def duration(name: str) -> timedelta:
            return timedelta(seconds=record.get(f"{name}_s", 0))

        def count(name: str) -> int:
            value = record.get(name, 0)
            if value != int(value):
                raise ValueError(f"time model record: {name} must be a whole number, got {value}")
            return int(value)

        quantities = Quantities(
            produced=count("produced"),
            good=count("good"),
            scrap=count("scrap"),
            rework=count("rework"),
            planned=count("planned"),
            inspected=count("inspected"),
            first_pass_good=count("first_pass_good"),
            ideal_time=duration("ideal_time"),
        )
        return cls(
            **{name: duration(name) for name in _DURATIONS},
            failures=count("failures"),
            quantities=quantities,
        )


def aggregate(models: Iterable[TimeModel]) -> TimeModel:
    """Sum time models (over periods, work units, lines): the only way to combine them."""
    total = TimeModel()
    for model in models:
        total = total + model
    return total


@dataclass(frozen=True, slots=True)
class Kpis:
    """ISO 22400-2 KPIs of one time model; None where a denominator is zero."""

    availability: float | None
    effectiveness: float | None
    quality_ratio: float | None
    oee: float | None
    nee: float | None
    technical_efficiency: float | None
    utilization_efficiency: float | None
    allocation_efficiency: float | None
    setup_ratio: float | None
    first_pass_yield: float | None
    scrap_ratio: float | None
    rework_ratio: float | None
    mtbf: timedelta | None
    mttr: timedelta | None
    coverage: float | None


def _product(*factors: float | None) -> float | None:
    result = 1.0
    for factor in factors:
        if factor is None:
            return None
        result *= factor
    return result


def _mean(total: timedelta, count: int) -> timedelta | None:
    return total / count if count else None


def kpis(model: TimeModel) -> Kpis:
    """Compute every KPI from the (summed) time model."""
    q = model.quantities
    base = model.observed_pbt
    availability = ratio(model.apt, base)
    effectiveness = ratio(q.ideal_time, model.apt)
    quality = ratio(q.good, q.produced)
    return Kpis(
        availability=availability,
        effectiveness=effectiveness,
        quality_ratio=quality,
        oee=_product(availability, effectiveness, quality),
        nee=_product(ratio(model.aupt, base), effectiveness, quality),
        technical_efficiency=ratio(model.apt, model.apt + model.adet),
        utilization_efficiency=ratio(model.apt, model.aubt),
        allocation_efficiency=ratio(model.aubt, base),
        setup_ratio=ratio(model.asut, model.aupt),
        first_pass_yield=ratio(q.first_pass_good, q.inspected),
        scrap_ratio=ratio(q.scrap, q.produced),
        rework_ratio=ratio(q.rework, q.produced),
        mtbf=_mean(model.aupt, model.failures),
        mttr=_mean(model.ttr, model.failures),
        coverage=ratio(base, model.pbt),
    )
