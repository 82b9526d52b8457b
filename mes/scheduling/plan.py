"""What the planner answers: a slot per operation, each order's outcome, errors, figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

#: a parameter of a text: JSON-native, so it is stored and answered as it is
Param = str | int | float


class Pin(StrEnum):
    PLANNED = "planned"
    RUNNING = "running"  # continues from the reported quantity; may pause over closed time
    FROZEN = "frozen"  # dispatched inside the frozen horizon
    LOCKED = "locked"  # locked by a supervisor


@dataclass(frozen=True, slots=True)
class Assignment:
    """Setup on `workstation` over [setup_start, start), the run over [start, end)."""

    order: str
    operation: str
    workstation: str
    setup_start: datetime
    start: datetime
    end: datetime
    pin: Pin = Pin.PLANNED


@dataclass(frozen=True, slots=True)
class PlanningError:
    """Why an order (or one of its operations) could not be planned. `key` (`plan.error.*` of
    the pages' catalogues, mes/i18n) and `params` say `reason` language-neutrally; None: a
    reason with no key (a plan stored before there were keys), shown as written."""

    order: str
    operation: str | None
    reason: str
    key: str | None = None
    params: dict[str, Param] = field(default_factory=dict, hash=False, compare=False)

    def __str__(self) -> str:
        where = f"work order {self.order}"
        if self.operation is not None:
            where += f", operation {self.operation}"
        return f"{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the planner did that people should know (a held slot planned again, a
    workstation it ignored): the English `text` (what `Plan.notices` answered before there were
    keys), and the same language-neutrally: `key` (`plan.notice.*`, mes/i18n) and `params`.
    `key` None: a text only (a plan stored before there were keys)."""

    text: str
    key: str | None = None
    params: dict[str, Param] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    order: str
    completion: datetime
    due: datetime
    tardiness_s: float
    weight: float

    @property
    def on_time(self) -> bool:
        return self.tardiness_s <= 0


@dataclass(frozen=True, slots=True)
class Plan:
    assignments: tuple[Assignment, ...]
    outcomes: tuple[OrderOutcome, ...]
    errors: tuple[PlanningError, ...]
    method: str  # "cp-sat", "rule:<NAME>" or "previous" (the previous plan repaired)
    fallback: bool = False  # True: the solver found nothing in time, a rule's plan is used
    note: str = ""
    solver_status: str = ""
    notices: tuple[Notice, ...] = ()  # e.g. a frozen operation released off a broken machine

    @property
    def weighted_tardiness(self) -> float:
        return sum(o.weight * o.tardiness_s for o in self.outcomes)

    @property
    def on_time_rate(self) -> float:
        return sum(o.on_time for o in self.outcomes) / len(self.outcomes) if self.outcomes else 1.0

    @property
    def setup_s(self) -> float:
        return sum((a.start - a.setup_start).total_seconds() for a in self.assignments)

    @property
    def makespan_end(self) -> datetime | None:
        return max((a.end for a in self.assignments), default=None)

    def slot(self, order: str, operation: str) -> Assignment | None:
        for a in self.assignments:
            if a.order == order and a.operation == operation:
                return a
        return None
