"""Audit log: who did what, when, and from which station.

Every actor is spelled one way, `<kind>:<name>`: `user:sup1`, `station:ws-10`, `service:erp`
(a service token), `operator:E1042` (a badge), `cli:root`, `system:closed-loop`. `actor_of`
builds it from the caller of a request (a `Principal`), `actor` from a kind and a name; `record`
refuses any other spelling, so a call site cannot slip back to a bare name.
"""

import json
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Field, Session, SQLModel

from mes.core import journal
from mes.core.clock import utcnow


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=64, index=True)
    action: str = Field(max_length=64)
    target: str = Field(max_length=128, index=True)
    station: str | None = Field(default=None, max_length=64)
    detail_json: str = "{}"


_TABLE = journal.table_of(AuditEntry)

#: The kinds of actor: the first part of every audit actor. `address` is a caller that did not
#: authenticate (a failed login), named by its client address.
KINDS = ("user", "station", "service", "operator", "cli", "system", "address")
ACTOR_MAX = 64


class Caller(Protocol):
    """What `actor_of` reads of a request's caller (`mes.auth.roles.Principal`)."""

    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...


def actor(kind: str, name: str) -> str:
    """The audit spelling of an actor: `<kind>:<name>`, at most 64 characters."""
    if kind not in KINDS:
        raise ValueError(f"audit actor kind {kind!r} is not one of {', '.join(KINDS)}")
    if not name:
        raise ValueError("an audit actor needs a name")
    return f"{kind}:{name}"[:ACTOR_MAX]


def actor_of(who: Caller) -> str:
    """The audit spelling of a request's caller."""
    return actor(who.kind, who.name)


def system(name: str) -> str:
    """The MES itself, acting for `name` (`system:closed-loop`, `system:erp`)."""
    return actor("system", name)


#: The ERP over MQTT (over REST it is the caller's service token).
ERP = system("erp")


def check_actor(value: str) -> str:
    kind, sep, name = value.partition(":")
    if not sep or kind not in KINDS or not name or len(value) > ACTOR_MAX:
        raise ValueError(
            f"audit actor {value!r} is not '<kind>:<name>' (kind one of {', '.join(KINDS)}): "
            "build it with mes.core.audit.actor_of / actor"
        )
    return value


def record(
    session: Session,
    actor: str,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
    station: str | None = None,
) -> None:
    """Add an audit entry to the caller's transaction (committed with the change it records).
    `actor` is spelled `<kind>:<name>` (see `actor_of`); ValueError otherwise."""
    check_actor(actor)
    journal.append(
        session,
        _TABLE,
        {
            "at": utcnow(),
            "actor": actor,
            "action": action,
            "target": target,
            "station": station,
            "detail_json": json.dumps(detail or {}, default=str, sort_keys=True),
        },
    )
