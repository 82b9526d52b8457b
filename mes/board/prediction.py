"""When will a work order finish, and is it at risk of missing its due date? (pure, no I/O)

The work left is counted per operation of the routing: the units an operation still has to make
(the order quantity less its good units, never below zero), at the rate it ran recently, or at
the routing's cycle time when it has not run lately. Operations are added up one after the other
(a conservative estimate: in practice a later operation starts on the first good units of the
one before). An order is *at risk* when the predicted finish lies after its due date.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

#: how far back the "recent rate" of an operation looks
RATE_WINDOW = timedelta(hours=1)
#: a rate measured over less than this is not trusted (two scans a second apart say nothing)
MIN_RATE_SPAN = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class OperationLeft:
    """One operation of a work order, as the prediction needs it."""

    quantity_left: int
    cycle_time_s: float
    #: units (good and scrap) an hour over the last RATE_WINDOW; None when not measured
    recent_rate_per_h: float | None = None

    def seconds_left(self) -> float:
        if self.quantity_left <= 0:
            return 0.0
        if self.recent_rate_per_h is not None and self.recent_rate_per_h > 0:
            return self.quantity_left * 3600.0 / self.recent_rate_per_h
        return self.quantity_left * max(self.cycle_time_s, 0.0)


@dataclass(frozen=True, slots=True)
class Forecast:
    predicted_finish: datetime | None
    at_risk: bool
    #: the due date has passed and the order is not complete
    overdue: bool


def recent_rate(
    reports: Iterable[tuple[datetime, int]], now: datetime, window: timedelta = RATE_WINDOW
) -> float | None:
    """Units an hour from (time, units) reports in the last `window` before `now`: the units over
    the time from the first of them to now. None when fewer than two reports or too short a span."""
    recent = [(at, n) for at, n in reports if now - window <= at <= now]
    if len(recent) < 2:
        return None
    first = min(at for at, _ in recent)
    span = now - first
    if span < MIN_RATE_SPAN:
        return None
    return sum(n for _, n in recent) * 3600.0 / span.total_seconds()


def _next_minute(at: datetime) -> datetime:
    whole = at.replace(second=0, microsecond=0)
    return whole if whole == at else whole + timedelta(minutes=1)


def quantity_left(quantity: int, good: int) -> int:
    return max(0, quantity - good)


def forecast(
    now: datetime,
    due: datetime | None,
    operations: Sequence[OperationLeft],
    completed_at: datetime | None = None,
) -> Forecast:
    """The predicted finish of an order (its completion time once complete) and its risk."""
    if completed_at is not None:
        late = due is not None and completed_at > due
        return Forecast(completed_at, at_risk=late, overdue=False)
    left = sum(op.seconds_left() for op in operations)
    # to the next whole minute: a forecast that moved by seconds is no news for the board
    finish = _next_minute(now + timedelta(seconds=left))
    overdue = due is not None and now > due
    return Forecast(finish, at_risk=due is not None and finish > due, overdue=overdue)
