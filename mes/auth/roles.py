"""Who may do what: roles, permissions and the role matrix (pure, no I/O).

The matrix is data; docs/mes-api.md prints the same table and tests/mes/test_auth_roles.py checks
the rules the plant depends on (an operator's station cannot correct events or release holds, a
station token acts only for its own station).
"""

from dataclasses import dataclass
from enum import StrEnum

from mes.core import audit


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    QUALITY = "quality"
    #: The owner: reads everything (board, dashboard, reports), changes nothing.
    OWNER = "owner"
    #: A workstation terminal (enrolled by an admin); operators act through it with their badge.
    STATION = "station"
    #: Integration service tokens.
    ERP = "erp"
    EDGE = "edge"
    #: A TV wall showing the supervisor board: reads the board, nothing else (a service token).
    DISPLAY = "display"


#: Roles a person can hold with a password.
USER_ROLES = (Role.ADMIN, Role.SUPERVISOR, Role.QUALITY, Role.OWNER)
#: Roles a service token can hold.
SERVICE_ROLES = (Role.ERP, Role.EDGE, Role.DISPLAY)


class Permission(StrEnum):
    READ = "read"
    #: The supervisor board and its live stream (`/api/v1/board`): all a display token may do.
    BOARD_READ = "board.read"
    #: Scans and the same actions from tablet buttons: login/logout operators, select job, start,
    #: pause, resume, report good/scrap, consume material, complete.
    REPORT = "report"
    CORRECT = "correct"
    #: Suspend, resume and abort work orders (the supervisor board).
    WORK_ORDER_ADMIN = "work_order.admin"
    HOLD_PLACE = "hold.place"
    HOLD_RELEASE = "hold.release"
    ALARM_ACK = "alarm.ack"
    ALARM_ADMIN = "alarm.admin"
    ERP_INTAKE = "erp.intake"
    EDGE_INGEST = "edge.ingest"
    MANAGE_USERS = "manage.users"
    MANAGE_OPERATORS = "manage.operators"
    #: See every operator's badge number (badges log operators in).
    LIST_OPERATORS = "operators.list"
    MANAGE_STATIONS = "manage.stations"
    MANAGE_TOKENS = "manage.tokens"
    #: Read the audit log (`GET /api/v1/audit`).
    AUDIT_READ = "audit.read"


P = Permission
MATRIX: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(
        {
            P.READ,
            P.BOARD_READ,
            P.MANAGE_USERS,
            P.MANAGE_OPERATORS,
            P.LIST_OPERATORS,
            P.MANAGE_STATIONS,
            P.MANAGE_TOKENS,
            P.AUDIT_READ,
        }
    ),
    Role.SUPERVISOR: frozenset(
        {
            P.READ,
            P.BOARD_READ,
            P.AUDIT_READ,
            P.REPORT,
            P.CORRECT,
            P.WORK_ORDER_ADMIN,
            P.HOLD_PLACE,
            P.ALARM_ACK,
            P.ALARM_ADMIN,
            P.ERP_INTAKE,
            P.LIST_OPERATORS,
        }
    ),
    Role.QUALITY: frozenset(
        {P.READ, P.BOARD_READ, P.HOLD_PLACE, P.HOLD_RELEASE, P.ALARM_ACK, P.AUDIT_READ}
    ),
    Role.OWNER: frozenset({P.READ, P.BOARD_READ, P.AUDIT_READ}),
    Role.STATION: frozenset({P.READ, P.REPORT, P.ALARM_ACK}),
    Role.ERP: frozenset({P.READ, P.ERP_INTAKE}),
    Role.EDGE: frozenset({P.READ, P.EDGE_INGEST}),
    Role.DISPLAY: frozenset({P.BOARD_READ}),
}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    kind: str  # "user" | "station" | "service"
    name: str
    role: Role
    #: For station tokens: the one workstation this token may act for.
    station: str | None = None

    def can(self, permission: Permission) -> bool:
        return allowed(self.role, permission)

    def may_act_for(self, station: str) -> bool:
        """Station tokens act only for their own station; users with REPORT for any."""
        if self.role is Role.STATION:
            return self.station == station
        return self.can(Permission.REPORT)

    @property
    def label(self) -> str:
        """How the audit log (and every `by` of the MES) names this caller: `user:sup1`."""
        return audit.actor_of(self)


def allowed(role: Role, permission: Permission) -> bool:
    return permission in MATRIX.get(role, frozenset())


def matrix_markdown() -> str:
    """The role matrix as a Markdown table (docs/mes-api.md embeds this output)."""
    roles = list(Role)
    head = "| permission | " + " | ".join(r.value for r in roles) + " |"
    sep = "|---|" + "---|" * len(roles)
    rows = [
        f"| `{p.value}` | " + " | ".join("yes" if allowed(r, p) else "" for r in roles) + " |"
        for p in Permission
    ]
    return "\n".join([head, sep, *rows])
