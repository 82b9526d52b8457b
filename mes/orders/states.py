"""Work-order and operation lifecycles: pure state machines (no I/O).

Each machine is an Enum of states, frozen event dataclasses and a transition table
`{(state, event type): next state}`. `docs/mes.md` shows diagrams generated from these tables
(`mes.orders.diagrams`). A move the table does not allow raises `IllegalTransition`.

HELD is not a plain state: a work order is held while its *set* of active holds is non-empty,
and returns to the state it was held from when the last hold is released.
"""

from dataclasses import dataclass, field, replace
from enum import StrEnum

from mes.core.errors import IllegalTransition


class WorkOrderState(StrEnum):
    PLANNED = "PLANNED"
    RELEASED = "RELEASED"
    RUNNING = "RUNNING"
    SUSPENDED = "SUSPENDED"
    HELD = "HELD"
    COMPLETED = "COMPLETED"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"
    ABORTED = "ABORTED"


@dataclass(frozen=True, slots=True)
class Release:
    """Planning hands the work order to the shop floor."""


@dataclass(frozen=True, slots=True)
class Start:
    """The first operation started."""


@dataclass(frozen=True, slots=True)
class Suspend:
    """A deliberate pause of the whole work order (supervisor)."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class Resume:
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PlaceHold:
    hold_id: str


@dataclass(frozen=True, slots=True)
class ReleaseHold:
    hold_id: str


@dataclass(frozen=True, slots=True)
class Complete:
    """The last operation completed."""


@dataclass(frozen=True, slots=True)
class Close:
    """The ERP acknowledged the final confirmation."""


@dataclass(frozen=True, slots=True)
class Cancel:
    """The ERP cancelled the order before any work started."""


@dataclass(frozen=True, slots=True)
class Abort:
    """Work stopped for good after it started."""

    reason: str = ""


WorkOrderEvent = (
    Release | Start | Suspend | Resume | PlaceHold | ReleaseHold | Complete | Close | Cancel | Abort
)

#: Target of a ReleaseHold that empties the hold set: the state the order was held from.
HELD_FROM = "(state before the hold)"

S = WorkOrderState
WORK_ORDER_TRANSITIONS: dict[tuple[WorkOrderState, type], WorkOrderState | str] = {
    (S.PLANNED, Release): S.RELEASED,
    (S.PLANNED, Cancel): S.CANCELLED,
    (S.RELEASED, Start): S.RUNNING,
    (S.RELEASED, Cancel): S.CANCELLED,
    (S.RELEASED, PlaceHold): S.HELD,
    (S.RUNNING, Suspend): S.SUSPENDED,
    (S.RUNNING, PlaceHold): S.HELD,
    (S.RUNNING, Complete): S.COMPLETED,
    (S.RUNNING, Abort): S.ABORTED,
    (S.SUSPENDED, Resume): S.RUNNING,
    (S.SUSPENDED, PlaceHold): S.HELD,
    (S.SUSPENDED, Abort): S.ABORTED,
    (S.HELD, PlaceHold): S.HELD,
    (S.HELD, ReleaseHold): HELD_FROM,
    (S.HELD, Abort): S.ABORTED,
    (S.COMPLETED, Close): S.CLOSED,
}
del S

#: States of a work order on which nothing more is made: no report, no hold.
FINISHED = frozenset(
    {
        WorkOrderState.COMPLETED,
        WorkOrderState.CLOSED,
        WorkOrderState.CANCELLED,
        WorkOrderState.ABORTED,
    }
)

#: States an order can be held from (the only ones HELD_FROM may resolve to).
HOLDABLE = frozenset(
    s for (s, ev), t in WORK_ORDER_TRANSITIONS.items() if ev is PlaceHold and t == "HELD"
) - {WorkOrderState.HELD}


@dataclass(frozen=True, slots=True)
class WorkOrderStatus:
    """A work order's lifecycle position: state, active holds, and the state held from."""

    state: WorkOrderState = WorkOrderState.PLANNED
    holds: frozenset[str] = field(default_factory=frozenset)
    held_from: WorkOrderState | None = None

    def apply(self, event: WorkOrderEvent) -> "WorkOrderStatus":
        target = WORK_ORDER_TRANSITIONS.get((self.state, type(event)))
        if target is None:
            raise IllegalTransition("work order", self.state, _event_name(event))
        if isinstance(event, PlaceHold):
            held_from = self.held_from if self.state is WorkOrderState.HELD else self.state
            return WorkOrderStatus(WorkOrderState.HELD, self.holds | {event.hold_id}, held_from)
        if isinstance(event, ReleaseHold):
            if event.hold_id not in self.holds:
                raise IllegalTransition(
                    "work order", self.state, f"release hold {event.hold_id} (not active)"
                )
            rest = self.holds - {event.hold_id}
            if rest:
                return replace(self, holds=rest)
            return WorkOrderStatus(self.held_from or WorkOrderState.RELEASED, frozenset(), None)
        if isinstance(event, Abort):
            return WorkOrderStatus(WorkOrderState.ABORTED)
        assert isinstance(target, WorkOrderState)
        return replace(self, state=target)


class OperationState(StrEnum):
    BLOCKED = "BLOCKED"
    READY = "READY"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    DONE = "DONE"


@dataclass(frozen=True, slots=True)
class Unblock:
    """The previous operation released quantity to this one."""


@dataclass(frozen=True, slots=True)
class Block:
    """A correction took back everything the previous operation had released."""


@dataclass(frozen=True, slots=True)
class StartOperation:
    """An operator starts (or joins) the operation at a workstation."""


@dataclass(frozen=True, slots=True)
class PauseOperation:
    reason: str


@dataclass(frozen=True, slots=True)
class ResumeOperation:
    pass


@dataclass(frozen=True, slots=True)
class CompleteOperation:
    pass


OperationEvent = (
    Unblock | Block | StartOperation | PauseOperation | ResumeOperation | CompleteOperation
)

Op = OperationState
OPERATION_TRANSITIONS: dict[tuple[OperationState, type], OperationState] = {
    (Op.BLOCKED, Unblock): Op.READY,
    (Op.READY, Unblock): Op.READY,
    (Op.READY, Block): Op.BLOCKED,
    (Op.READY, StartOperation): Op.RUNNING,
    (Op.RUNNING, StartOperation): Op.RUNNING,
    (Op.RUNNING, Unblock): Op.RUNNING,
    (Op.RUNNING, PauseOperation): Op.PAUSED,
    (Op.RUNNING, CompleteOperation): Op.DONE,
    (Op.PAUSED, ResumeOperation): Op.RUNNING,
    (Op.PAUSED, Unblock): Op.PAUSED,
    (Op.PAUSED, CompleteOperation): Op.DONE,
}
del Op


def next_operation_state(state: OperationState, event: OperationEvent) -> OperationState:
    target = OPERATION_TRANSITIONS.get((state, type(event)))
    if target is None:
        raise IllegalTransition("operation", state, _event_name(event))
    return target


def _event_name(event: object) -> str:
    name = type(event).__name__
    out = "".join(f" {c.lower()}" if c.isupper() else c for c in name).strip()
    return out.removesuffix(" operation")
