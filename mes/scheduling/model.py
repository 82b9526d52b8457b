"""What the planner is asked: work orders and their operations, workstations with their
capacity, materials, setups, and the floor as it is. Pure data, no I/O.

Times are timezone-aware datetimes; durations are seconds. An operation's run time on a
workstation is `quantity * run_s_per_unit / speed` of that workstation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mes.performance.calendar import ShiftCalendar


class ModelError(ValueError):
    """Input the planner cannot take at all (not one order's fault)."""


def _aware(what: str, instant: datetime) -> None:
    if instant.tzinfo is None:
        raise ModelError(f"{what} must be timezone-aware, got {instant}")


@dataclass(frozen=True, slots=True)
class Capability:
    """A workstation able to run an operation, at its own speed (2.0 = twice as fast)."""

    workstation: str
    speed: float = 1.0

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ModelError(f"workstation {self.workstation!r}: speed must be > 0")


@dataclass(frozen=True, slots=True)
class MaterialNeed:
    """Material consumed when the operation starts (whole quantity for the operation)."""

    material: str
    quantity: float


@dataclass(frozen=True, slots=True)
class Operation:
    """One step of a work order's routing.

    `after` names the operations that must finish first; None means the previous operation in
    the routing (none for the first). `min_wait_s` is the wait or transfer time after this
    operation before any successor may start.
    """

    id: str
    work_centre: str
    workstations: tuple[Capability, ...]
    run_s_per_unit: float
    min_wait_s: float = 0.0
    after: tuple[str, ...] | None = None
    materials: tuple[MaterialNeed, ...] = ()


@dataclass(frozen=True, slots=True)
class WorkOrder:
    id: str
    product: str
    family: str  # product family, the key of the setup matrix
    quantity: float
    release: datetime
    due: datetime
    operations: tuple[Operation, ...]
    weight: float = 1.0  # priority: tardiness cost per second late

    def __post_init__(self) -> None:
        _aware(f"work order {self.id}: release", self.release)
        _aware(f"work order {self.id}: due", self.due)
        if self.quantity <= 0:
            raise ModelError(f"work order {self.id}: quantity must be > 0")
        if self.weight < 0:
            raise ModelError(f"work order {self.id}: weight must be >= 0")


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Workstation:
    """A machine; `calendar` None means always open. `downtime` is planned downtime."""

    id: str
    work_centre: str
    calendar: ShiftCalendar | None = None
    downtime: tuple[Window, ...] = ()
    initial_family: str | None = None  # the family it is set up for now


@dataclass(frozen=True, slots=True)
class Receipt:
    at: datetime
    quantity: float


@dataclass(frozen=True, slots=True)
class Material:
    id: str
    on_hand: float
    receipts: tuple[Receipt, ...] = ()


@dataclass(frozen=True, slots=True)
class SetupMatrix:
    """Sequence-dependent setup seconds between product families.

    Same family: 0 unless listed. Other pairs not listed: `default_s`.
    """

    times: tuple[tuple[str, str, float], ...] = ()
    default_s: float = 0.0

    def seconds(self, before: str | None, after: str) -> float:
        for a, b, s in self.times:
            if a == before and b == after:
                return s
        if before == after:
            return 0.0
        return self.default_s


@dataclass(frozen=True, slots=True)
class OperationRef:
    order: str
    operation: str


@dataclass(frozen=True, slots=True)
class RunningOperation:
    """Started on the floor: keeps its workstation and continues from `quantity_done` now."""

    ref: OperationRef
    workstation: str
    quantity_done: float = 0.0


@dataclass(frozen=True, slots=True)
class SlotLock:
    """An operation held on a workstation from `start` (dispatched in the frozen horizon, or
    locked by a supervisor)."""

    ref: OperationRef
    workstation: str
    start: datetime


@dataclass(frozen=True, slots=True)
class Breakdown:
    workstation: str
    expected_return: datetime


@dataclass(frozen=True, slots=True)
class FloorState:
    done: frozenset[OperationRef] = frozenset()
    running: tuple[RunningOperation, ...] = ()
    dispatched: tuple[SlotLock, ...] = ()  # stays when it starts inside the frozen horizon
    locks: tuple[SlotLock, ...] = ()  # stays wherever it is
    breakdowns: tuple[Breakdown, ...] = ()
    frozen_horizon: timedelta = timedelta(0)


@dataclass(frozen=True, slots=True)
class Problem:
    now: datetime
    orders: tuple[WorkOrder, ...]
    workstations: tuple[Workstation, ...]
    materials: tuple[Material, ...] = ()
    setups: SetupMatrix = field(default_factory=SetupMatrix)
    floor: FloorState = field(default_factory=FloorState)

    def __post_init__(self) -> None:
        _aware("problem now", self.now)
        for kind, ids in (
            ("work order", [o.id for o in self.orders]),
            ("workstation", [w.id for w in self.workstations]),
            ("material", [m.id for m in self.materials]),
        ):
            seen: set[str] = set()
            for i in ids:
                if i in seen:
                    raise ModelError(f"{kind} {i!r} appears twice")
                seen.add(i)
