"""Alarm tables: the append-only journal, the current state of each alarm, and the outbox of
notifications (`_mes/alarms`, `_mes/holds`, webhooks) written in the same transaction."""

from datetime import datetime

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper
from sqlmodel import Field, SQLModel

from mes.core.clock import utcnow
from mes.core.notifications import Notification

__all__ = ["AlarmCurrent", "AlarmJournal", "Notification"]


class AlarmJournal(SQLModel, table=True):
    """Every condition and every action, as it happened. Never updated or deleted."""

    __tablename__ = "alarm_journal"

    id: int | None = Field(default=None, primary_key=True)
    #: edge condition events carry a deterministic id: a re-sent one is recognised
    event_id: str = Field(max_length=160, unique=True)
    alarm: str = Field(max_length=160, index=True)
    at: datetime = Field(index=True)
    recorded_at: datetime = Field(default_factory=utcnow)
    action: str = Field(max_length=32, description="raised, cleared, acknowledge, shelve, ...")
    state: str = Field(max_length=20, description="state after the event")
    priority: str = Field(max_length=10)
    area: str = Field(max_length=64, index=True)
    path: str = Field(max_length=255)
    value_json: str = "null"
    limit: float | None = None
    message: str = ""
    by: str | None = Field(default=None, max_length=64)
    comment: str | None = None


class AlarmJournalAppendOnly(Exception):
    pass


def _refuse_change(_m: Mapper[AlarmJournal], _c: Connection, target: object) -> None:
    raise AlarmJournalAppendOnly(
        f"the alarm journal is append-only (entry {getattr(target, 'id', '?')})"
    )


event.listen(AlarmJournal, "before_update", _refuse_change)
event.listen(AlarmJournal, "before_delete", _refuse_change)


class AlarmCurrent(SQLModel, table=True):
    """The lifecycle position of one alarm (one row per alarm ever seen)."""

    __tablename__ = "alarm_current"

    alarm: str = Field(primary_key=True, max_length=160)
    state: str = Field(default="normal", max_length=20, index=True)
    condition_active: bool = False
    suppressed: bool = False
    latching: bool = False
    priority: str = Field(default="medium", max_length=10, index=True)
    area: str = Field(default="", max_length=64, index=True)
    path: str = Field(default="", max_length=255)
    workstation: str | None = Field(default=None, max_length=64)
    value_json: str = "null"
    limit: float | None = None
    message: str = ""
    #: when the condition became active (source time), for stale-alarm detection
    active_since: datetime | None = None
    changed_at: datetime | None = None
    by: str | None = Field(default=None, max_length=64)
    comment: str | None = None
    shelved_until: datetime | None = Field(default=None, index=True)
    #: unacknowledged high/critical alarm: when escalation already notified the next level
    escalated_at: datetime | None = None
