"""What a station can be asked to do, whichever door it came through (pure, no I/O).

A scan is parsed by the grammar into a scan intent; a tablet button builds the same objects
directly. Both go to one handler (`mes.reporting.handler`).
"""

from dataclasses import dataclass, field

from mes.core.errors import Refusal
from mes.reporting.grammar import (
    BadgeScan,
    Command,
    CommandScan,
    InspectionScan,
    JobScan,
    MaterialScan,
    QuantityScan,
    ReasonScan,
    ScanIntent,
    ScrapScan,
    Unrecognised,
)


@dataclass(frozen=True)
class OperatorLogin:
    badge: str
    kind: str = "login"
    pin: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class OperatorLogout:
    """Log out one operator, or everyone at the station when `badge` is None."""

    badge: str | None = None
    kind: str = "logout"


@dataclass(frozen=True)
class Pause:
    reason: str | None = None
    kind: str = "pause"


Action = ScanIntent | OperatorLogin | OperatorLogout | Pause


#: The `action` field of an answer, per kind of request.
ACTION_NAMES: dict[str, str] = {
    "badge": "operator.badge",
    "login": "operator.login",
    "logout": "operator.logout",
    "job": "job.select",
    "quantity": "operation.report_good",
    "scrap": "operation.report_scrap",
    "reason": "reason.set",
    "material": "material.consume",
    "inspection": "quality.inspection",
    "pause": "operation.pause",
    "unknown": "scan.unknown",
}
COMMAND_ACTIONS: dict[Command, str] = {
    Command.START: "operation.start",
    Command.PAUSE: "operation.pause",
    Command.RESUME: "operation.resume",
    Command.COMPLETE: "operation.complete",
    Command.LOGOUT: "operator.logout",
    Command.UNDO: "operation.undo",
}


def action_name(action: Action) -> str:
    if isinstance(action, CommandScan):
        return COMMAND_ACTIONS[action.command]
    return ACTION_NAMES[action.kind]


def needs_operator(action: Action) -> bool:
    """Everything but logging in and out needs someone logged in at the station."""
    if isinstance(action, BadgeScan | OperatorLogin | OperatorLogout | Unrecognised):
        return False
    return not (isinstance(action, CommandScan) and action.command is Command.LOGOUT)


__all__ = [
    "Action",
    "BadgeScan",
    "CommandScan",
    "InspectionScan",
    "JobScan",
    "MaterialScan",
    "OperatorLogin",
    "OperatorLogout",
    "Pause",
    "QuantityScan",
    "ReasonScan",
    "Refusal",
    "ScrapScan",
    "Unrecognised",
    "action_name",
    "needs_operator",
]
