"""The figures' arithmetic (pure, no I/O): delivery outcome of an order, on-time rate, Pareto
with cumulative share, percentiles, WIP by operation, and the lead-time split with the cause
of lateness. The definitions are in docs/dashboard.md; the adapters in `queries` and
`delivery` feed these functions rows read from the database."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from mes.dashboard import spans
from mes.dashboard.spans import P, Span

ON_TIME_DEFINITION = (
    "orders completed by their due date / orders due in the period whose outcome is known "
    "(completed, or past their due date); cancelled orders are left out"
)


class Outcome(StrEnum):
    ON_TIME = "on_time"
    #: completed after its due date, or ended (aborted) without completing by it
    LATE = "late"
    #: still open past its due date (also counted as late)
    OPEN_OVERDUE = "open_overdue"
    #: not completed, due date not reached: not counted yet
    PENDING = "pending"


def outcome(due: datetime, completed: datetime | None, is_open: bool, now: datetime) -> Outcome:
    """How an order due at `due` fared as of `now`."""
    if completed is not None:
        return Outcome.ON_TIME if completed <= due else Outcome.LATE
    if due > now:
        return Outcome.PENDING
    return Outcome.OPEN_OVERDUE if is_open else Outcome.LATE


@dataclass(frozen=True, slots=True)
class OnTime:
    due: int
    on_time: int
    late: int  # includes open_overdue
    open_overdue: int
    pending: int

    @property
    def rate(self) -> float | None:
        return self.on_time / self.due if self.due else None


def on_time(outcomes: Iterable[Outcome]) -> OnTime:
    counts = dict.fromkeys(Outcome, 0)
    for o in outcomes:
        counts[o] += 1
    return on_time_of(counts)


def on_time_of(counts: Mapping[Outcome, int]) -> OnTime:
    """The on-time figure from the number of orders of each outcome."""
    counts = {o: counts.get(o, 0) for o in Outcome}
    late = counts[Outcome.LATE] + counts[Outcome.OPEN_OVERDUE]
    return OnTime(
        due=counts[Outcome.ON_TIME] + late,
        on_time=counts[Outcome.ON_TIME],
        late=late,
        open_overdue=counts[Outcome.OPEN_OVERDUE],
        pending=counts[Outcome.PENDING],
    )


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True, slots=True)
class ParetoRow:
    key: str
    quantity: float
    share: float
    cumulative: float


def pareto(items: Iterable[tuple[str, float]]) -> list[ParetoRow]:
    """Keys by quantity, largest first (ties by key), each with its share of the total and the
    cumulative share; keys summing to zero or less (corrected away) are left out."""
    totals: dict[str, float] = {}
    for key, quantity in items:
        totals[key] = totals.get(key, 0.0) + quantity
    ranked = sorted(((k, q) for k, q in totals.items() if q > 0), key=lambda kq: (-kq[1], kq[0]))
    total = sum(q for _, q in ranked)
    out, running = [], 0.0
    for key, quantity in ranked:
        running += quantity
        out.append(ParetoRow(key, quantity, quantity / total, running / total))
    return out


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation between closest ranks (as
    numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(rank), math.ceil(rank)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


@dataclass(frozen=True, slots=True)
class LeadTimeStats:
    orders: int
    mean_h: float | None
    p50_h: float | None
    p90_h: float | None


def lead_time_stats(hours: Sequence[float]) -> LeadTimeStats:
    mean = sum(hours) / len(hours) if hours else None
    return LeadTimeStats(len(hours), mean, percentile(hours, 50), percentile(hours, 90))


@dataclass(frozen=True, slots=True)
class OperationStep:
    """One routing step of an open work order, as WIP needs it."""

    seq: int
    number: str
    name: str
    done: bool
    processed: int  # good + scrap + rework reported at the step
    released: int  # good quantity handed on to the next step
    routing: str = ""  # the order's routing: the step's names in master data


def wip_of_order(quantity: int, steps: Sequence[OperationStep]) -> list[tuple[OperationStep, int]]:
    """Where an open order's units wait or are being worked: at each step not done, what
    reached it (the order quantity at the first step, what the previous step released at the
    others) less what it processed; steps holding nothing are left out."""
    out = []
    arrived = quantity
    for step in sorted(steps, key=lambda s: s.seq):
        if not step.done:
            units = max(arrived - step.processed, 0)
            if units > 0:
                out.append((step, units))
        arrived = step.released
    return out


class Cause(StrEnum):
    HOLDS = "holds"
    DOWNTIME = "downtime"
    LATE_RELEASE = "late_release"
    QUANTITY_CHANGE = "quantity_change"


@dataclass(frozen=True, slots=True)
class Split:
    """An order's lead time (release to completion, or to now while open) in hours."""

    lead_h: float
    queue_h: float
    run_h: float
    hold_h: float
    downtime_h: float


def split(
    released: P,
    end: P,
    runs: Iterable[Span[P]],
    holds: Iterable[Span[P]],
    downtime: Iterable[Span[P]],
) -> Split:
    """Hold time: the order (or one of its operations) on hold. Downtime: a workstation of
    the order stopped while the order's operation ran there, outside holds. Run: an operation
    running, outside holds and downtime. Queue: the rest of [released, end)."""
    hold = spans.clip(holds, released, end)
    running = spans.clip(runs, released, end)
    down = spans.subtract(spans.intersect(running, downtime), hold)
    lead = spans.hours([(released, end)])
    hold_h, down_h = spans.merged_hours(hold), spans.merged_hours(down)
    # downtime lies inside the running time and outside holds: run = running - hold - down
    held_running = spans.merged_hours(spans.intersect(running, hold))
    run_h = spans.merged_hours(running) - held_running - down_h
    return Split(lead, max(lead - hold_h - down_h - run_h, 0.0), run_h, hold_h, down_h)


def contributions(
    times: Split, window_h: float, standard_h: float, added_h: float
) -> dict[Cause, float]:
    """Hours each cause cost a late order: its hold and downtime hours; for late release, how
    much longer the routing's standard time (setup + cycle x quantity of every operation) was
    than the time between release and due date (`window_h`); for a quantity change, the
    standard time of the quantity added after release (`added_h`)."""
    return {
        Cause.HOLDS: times.hold_h,
        Cause.DOWNTIME: times.downtime_h,
        Cause.LATE_RELEASE: max(standard_h - window_h, 0.0),
        Cause.QUANTITY_CHANGE: max(added_h, 0.0),
    }


def cause_of_lateness(late: bool, contributed: dict[Cause, float]) -> Cause | None:
    """The largest contributor of a late order (ties: in the order of `Cause`); None when the
    order is not late or nothing contributed (its lateness is then all queue time)."""
    if not late:
        return None
    best = max(Cause, key=lambda c: (contributed.get(c, 0.0), -list(Cause).index(c)))
    return best if contributed.get(best, 0.0) > 0 else None


def lateness_hours(due: datetime | None, completed: datetime | None, now: datetime) -> float | None:
    """Completion (or now, while open past its due date) minus the due date, in hours;
    negative when completed early; None without a due date or while open before it."""
    if due is None or (completed is None and now < due):
        return None
    return ((completed or now) - due).total_seconds() / 3600
