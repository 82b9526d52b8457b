"""Stored plans (one row each, with its diff against the previous), their slots (what the
station queues read) and the supervisors' locks."""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from mes.core.clock import utcnow


class PlanRecord(SQLModel, table=True):
    __tablename__ = "schedule_plan"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)
    planned_from: datetime = Field(description="the plan's `now`")
    trigger: str = Field(max_length=200)
    method: str = Field(max_length=32)
    fallback: bool = False
    note: str = ""
    solver_status: str = Field(default="", max_length=200)
    weighted_tardiness_s: float = 0.0
    on_time_rate: float = 1.0
    fingerprint: str = Field(default="", max_length=64)
    approved_by: str | None = Field(default=None, max_length=64)
    approved_at: datetime | None = None
    body_json: str = Field(description="outcomes, errors and notices (JSON)")
    diff_json: str = Field(default="{}", description="changes against the previous plan (JSON)")


class PlanSlot(SQLModel, table=True):
    """One operation's slot in one plan."""

    __tablename__ = "schedule_slot"
    __table_args__ = (Index("ix_schedule_slot_plan_order", "plan_id", "work_order", "operation"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="schedule_plan.id", index=True)
    work_order: str = Field(max_length=16)
    operation: str = Field(max_length=4)
    workstation: str = Field(max_length=64)
    setup_start: datetime
    start: datetime
    end: datetime
    pin: str = Field(default="planned", max_length=16)


class SlotLockRecord(SQLModel, table=True):
    """A supervisor's lock: the operation keeps this workstation and start in every plan."""

    __tablename__ = "schedule_lock"

    work_order: str = Field(primary_key=True, max_length=16)
    operation: str = Field(primary_key=True, max_length=4)
    workstation: str = Field(max_length=64)
    start: datetime
    locked_by: str = Field(max_length=64)
    locked_at: datetime = Field(default_factory=utcnow)
