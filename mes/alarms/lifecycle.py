"""The ISA-18.2 alarm lifecycle: a pure state machine (no I/O).

States are an Enum, inputs are frozen event dataclasses (conditions from the edge, actions of
people and timers), and `TRANSITIONS` maps `(state, event type)` to the next state. The diagram
in docs/alarms-quality.md is generated from that table (`mermaid_diagram`). A move the table does
not allow raises `IllegalTransition`; an action by someone without the role raises `NotPermitted`.

Shelved, out-of-service and suppressed alarms hide the condition but keep tracking it, so that
leaving those states lands where the process is (`RESUME`).
"""

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Final

from mes.core.errors import IllegalTransition, NotPermitted

__all__ = ["IllegalTransition", "NotPermitted"]


class AlarmState(StrEnum):
    NORMAL = "normal"
    ACTIVE_UNACKED = "active_unacked"
    ACTIVE_ACKED = "active_acked"
    RTN_UNACKED = "rtn_unacked"
    SHELVED = "shelved"
    OUT_OF_SERVICE = "out_of_service"
    SUPPRESSED = "suppressed"


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    roles: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Raised:
    """The edge (or the MES's silence detection) says the condition is present."""

    at: datetime
    value: object = None
    limit: float | None = None


@dataclass(frozen=True, slots=True)
class Cleared:
    at: datetime
    value: object = None


@dataclass(frozen=True, slots=True)
class Acknowledge:
    by: Actor
    at: datetime
    comment: str = ""


@dataclass(frozen=True, slots=True)
class Shelve:
    """Timed shelving: hidden until `until`, then unshelved automatically."""

    by: Actor
    at: datetime
    until: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Unshelve:
    """By a person, or by the timer (`by` is None)."""

    at: datetime
    by: Actor | None = None


@dataclass(frozen=True, slots=True)
class RemoveFromService:
    by: Actor
    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class ReturnToService:
    by: Actor
    at: datetime


@dataclass(frozen=True, slots=True)
class Suppress:
    """Suppressed by design (the machine is in setup or idle)."""

    at: datetime


@dataclass(frozen=True, slots=True)
class Unsuppress:
    at: datetime


Event = (
    Raised
    | Cleared
    | Acknowledge
    | Shelve
    | Unshelve
    | RemoveFromService
    | ReturnToService
    | Suppress
    | Unsuppress
)


class _Resume:
    """Leaving a hidden state: suppressed if still suppressed by design, else active-unacked
    if the condition is present, else normal."""

    def __repr__(self) -> str:
        return "RESUME"


RESUME: Final = _Resume()
S = AlarmState
_HIDE = {Shelve: S.SHELVED, RemoveFromService: S.OUT_OF_SERVICE, Suppress: S.SUPPRESSED}

TRANSITIONS: Final[dict[tuple[AlarmState, type], AlarmState | _Resume]] = {
    (S.NORMAL, Raised): S.ACTIVE_UNACKED,
    (S.NORMAL, Cleared): S.NORMAL,
    (S.NORMAL, Unsuppress): S.NORMAL,
    **{(S.NORMAL, t): s for t, s in _HIDE.items()},
    (S.ACTIVE_UNACKED, Raised): S.ACTIVE_UNACKED,
    (S.ACTIVE_UNACKED, Cleared): S.RTN_UNACKED,
    (S.ACTIVE_UNACKED, Acknowledge): S.ACTIVE_ACKED,
    (S.ACTIVE_UNACKED, Unsuppress): S.ACTIVE_UNACKED,
    **{(S.ACTIVE_UNACKED, t): s for t, s in _HIDE.items()},
    (S.ACTIVE_ACKED, Raised): S.ACTIVE_ACKED,
    (S.ACTIVE_ACKED, Cleared): S.NORMAL,
    (S.ACTIVE_ACKED, Unsuppress): S.ACTIVE_ACKED,
    **{(S.ACTIVE_ACKED, t): s for t, s in _HIDE.items()},
    (S.RTN_UNACKED, Raised): S.ACTIVE_UNACKED,
    (S.RTN_UNACKED, Cleared): S.RTN_UNACKED,
    (S.RTN_UNACKED, Acknowledge): S.NORMAL,
    (S.RTN_UNACKED, Unsuppress): S.RTN_UNACKED,
    **{(S.RTN_UNACKED, t): s for t, s in _HIDE.items()},
    (S.SHELVED, Raised): S.SHELVED,
    (S.SHELVED, Cleared): S.SHELVED,
    (S.SHELVED, Suppress): S.SHELVED,
    (S.SHELVED, Unsuppress): S.SHELVED,
    (S.SHELVED, Unshelve): RESUME,
    (S.SHELVED, RemoveFromService): S.OUT_OF_SERVICE,
    (S.OUT_OF_SERVICE, Raised): S.OUT_OF_SERVICE,
    (S.OUT_OF_SERVICE, Cleared): S.OUT_OF_SERVICE,
    (S.OUT_OF_SERVICE, Suppress): S.OUT_OF_SERVICE,
    (S.OUT_OF_SERVICE, Unsuppress): S.OUT_OF_SERVICE,
    (S.OUT_OF_SERVICE, ReturnToService): RESUME,
    (S.SUPPRESSED, Raised): S.SUPPRESSED,
    (S.SUPPRESSED, Cleared): S.SUPPRESSED,
    (S.SUPPRESSED, Suppress): S.SUPPRESSED,
    (S.SUPPRESSED, Unsuppress): RESUME,
    (S.SUPPRESSED, Shelve): S.SHELVED,
    (S.SUPPRESSED, RemoveFromService): S.OUT_OF_SERVICE,
}

#: Latching alarms: a return to normal always waits for an acknowledgement (reset).
LATCHED_TRANSITIONS: Final[dict[tuple[AlarmState, type], AlarmState | _Resume]] = {
    (S.ACTIVE_ACKED, Cleared): S.RTN_UNACKED,
}

#: Who may do what. Actions not listed need an authenticated person, any role.
REQUIRED_ROLES: Final[dict[type, frozenset[str]]] = {
    RemoveFromService: frozenset({"supervisor"}),
    ReturnToService: frozenset({"supervisor"}),
}

#: The states an operator must look at.
ANNUNCIATED: Final = frozenset({S.ACTIVE_UNACKED, S.ACTIVE_ACKED, S.RTN_UNACKED})


@dataclass(frozen=True, slots=True)
class AlarmStatus:
    """The current state of one alarm, with what the hidden states keep tracking."""

    alarm: str
    state: AlarmState = S.NORMAL
    condition_active: bool = False
    suppressed: bool = False
    latching: bool = False
    value: object = None
    limit: float | None = None
    changed_at: datetime | None = None
    by: str | None = None
    comment: str | None = None
    shelved_until: datetime | None = None


def _event_name(event_type: type) -> str:
    name = event_type.__name__
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def next_state(status: AlarmStatus, event: Event) -> AlarmState | _Resume:
    key = (status.state, type(event))
    if status.latching and key in LATCHED_TRANSITIONS:
        return LATCHED_TRANSITIONS[key]
    try:
        return TRANSITIONS[key]
    except KeyError:
        raise IllegalTransition(
            f"alarm {status.alarm}", status.state.value, _event_name(type(event))
        ) from None


def apply(status: AlarmStatus, event: Event) -> AlarmStatus:
    """The status after `event`; IllegalTransition or NotPermitted when it is refused."""
    needed = REQUIRED_ROLES.get(type(event))
    actor = getattr(event, "by", None)
    if needed is not None and not (actor is not None and needed & actor.roles):
        who = actor.name if actor else "nobody"
        raise NotPermitted(
            f"{who} may not {_event_name(type(event))} alarm {status.alarm}: "
            f"needs role {' or '.join(sorted(needed))}"
        )
    target = next_state(status, event)
    s = status
    match event:
        case Raised():
            s = replace(s, condition_active=True, value=event.value, limit=event.limit)
        case Cleared():
            s = replace(s, condition_active=False, value=event.value)
        case Suppress():
            s = replace(s, suppressed=True, condition_active=False)
        case Unsuppress():
            s = replace(s, suppressed=False, condition_active=False)
        case Acknowledge():
            s = replace(s, by=event.by.name, comment=event.comment)
        case Shelve():
            s = replace(s, by=event.by.name, comment=event.reason, shelved_until=event.until)
        case RemoveFromService():
            s = replace(s, by=event.by.name, comment=event.reason, shelved_until=None)
        case Unshelve() | ReturnToService():
            s = replace(s, by=event.by.name if event.by else None, shelved_until=None)
    if isinstance(target, _Resume):
        if s.suppressed:
            target = S.SUPPRESSED
        elif s.condition_active:
            target = S.ACTIVE_UNACKED
        else:
            target = S.NORMAL
    if target is not S.SHELVED:
        s = replace(s, shelved_until=None)
    if isinstance(event, Raised | Cleared | Suppress | Unsuppress):
        s = replace(s, by=None, comment=None) if target != status.state else s
    if target == status.state and s == status:
        return status
    return replace(s, state=target, changed_at=event.at)


def shelf_expired(status: AlarmStatus, now: datetime) -> bool:
    """Timed shelving ran out: the timer should send `Unshelve(at=now)`."""
    return (
        status.state is S.SHELVED
        and status.shelved_until is not None
        and now >= status.shelved_until
    )


def mermaid_diagram() -> str:
    """The lifecycle as a Mermaid state diagram, generated from the transition tables."""
    lines = ["stateDiagram-v2", "    [*] --> normal"]
    for (state, ev), target in TRANSITIONS.items():
        label = _event_name(ev)
        if isinstance(target, _Resume):
            for t in (S.NORMAL, S.ACTIVE_UNACKED, S.SUPPRESSED):
                if t != state:
                    lines.append(f"    {state.value} --> {t.value}: {label}")
        elif target != state:
            lines.append(f"    {state.value} --> {target.value}: {label}")
    for (state, ev), target in LATCHED_TRANSITIONS.items():
        assert not isinstance(target, _Resume)
        lines.append(f"    {state.value} --> {target.value}: {_event_name(ev)} (latching)")
    return "\n".join(lines)
