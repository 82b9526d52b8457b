"""Quality holds: a pure lifecycle (no I/O).

A hold stops reporting on its target: a work order, a lot, a workstation or an operation.
Holds stack: any number may be active on one target, and each is released on its own, only by
the quality role, with a disposition (use as is, rework, scrap).
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Final

from mes.core.errors import IllegalTransition, NotPermitted

__all__ = ["IllegalTransition", "NotPermitted"]


class HoldState(StrEnum):
    ACTIVE = "active"
    RELEASED = "released"


class TargetKind(StrEnum):
    WORK_ORDER = "work_order"
    LOT = "lot"
    WORKSTATION = "workstation"
    OPERATION = "operation"


class Disposition(StrEnum):
    USE_AS_IS = "use_as_is"
    REWORK = "rework"
    SCRAP = "scrap"


@dataclass(frozen=True, slots=True)
class Target:
    kind: TargetKind
    #: work order number, lot number, workstation id, or `WO-000123/0020` for an operation
    id: str


@dataclass(frozen=True, slots=True)
class Hold:
    hold_id: str
    target: Target
    reason: str
    owner: str
    placed_by: str
    placed_at: datetime
    state: HoldState = HoldState.ACTIVE
    #: what placed it automatically: an alarm id or a nonconformance id
    source: str | None = None
    disposition: Disposition | None = None
    released_by: str | None = None
    released_at: datetime | None = None
    comment: str | None = None

    @property
    def id(self) -> str:
        """Alias of `hold_id` (the scan path names holds by `id`)."""
        return self.hold_id

    def describe(self) -> str:
        """How a refused scan names the hold."""
        return f"{self.reason} (hold {self.hold_id})"


@dataclass(frozen=True, slots=True)
class Release:
    by: str
    roles: frozenset[str]
    at: datetime
    disposition: Disposition
    comment: str = ""


TRANSITIONS: Final[dict[tuple[HoldState, type], HoldState]] = {
    (HoldState.ACTIVE, Release): HoldState.RELEASED,
}
RELEASE_ROLES: Final = frozenset({"quality"})


def release(hold: Hold, event: Release) -> Hold:
    if not (event.roles & RELEASE_ROLES):
        raise NotPermitted(f"{event.by} may not release hold {hold.hold_id}: needs role quality")
    target = TRANSITIONS.get((hold.state, type(event)))
    if target is None:
        raise IllegalTransition(f"hold {hold.hold_id}", hold.state.value, "release")
    return replace(
        hold,
        state=target,
        disposition=event.disposition,
        released_by=event.by,
        released_at=event.at,
        comment=event.comment or None,
    )


def operation_key(work_order: str, operation: str) -> str:
    """The target id of an operation hold: `WO-000123/0020`."""
    return f"{work_order}/{operation}"


def blocking(
    holds: Iterable[Hold],
    work_order: str | None,
    operation: str | None,
    workstation: str | None,
    lots: Iterable[str] = (),
) -> list[Hold]:
    """The active holds that stop reporting on this work order / operation / station / lots."""
    wanted = set()
    if work_order:
        wanted.add(Target(TargetKind.WORK_ORDER, work_order))
        if operation:
            wanted.add(Target(TargetKind.OPERATION, operation_key(work_order, operation)))
    if workstation:
        wanted.add(Target(TargetKind.WORKSTATION, workstation))
    wanted.update(Target(TargetKind.LOT, lot) for lot in lots)
    return [h for h in holds if h.state is HoldState.ACTIVE and h.target in wanted]
