"""Quality tables: holds (stacking, any target), nonconformances, inspection plans and results."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from mes.core.clock import utcnow


class HoldRecord(SQLModel, table=True):
    __tablename__ = "quality_hold"

    id: int | None = Field(default=None, primary_key=True)
    hold_id: str = Field(max_length=32, unique=True, description="H-<id>")
    target_kind: str = Field(max_length=16, index=True)
    target_id: str = Field(max_length=96, index=True)
    state: str = Field(default="active", max_length=10, index=True)
    reason: str
    owner: str = Field(max_length=64)
    placed_by: str = Field(max_length=64)
    placed_at: datetime = Field(default_factory=utcnow)
    #: what placed it: `alarm:<id>` or `nc:<number>`; None when placed by a person
    source: str | None = Field(default=None, max_length=200)
    disposition: str | None = Field(default=None, max_length=16)
    released_by: str | None = Field(default=None, max_length=64)
    released_at: datetime | None = None
    comment: str | None = None


class Nonconformance(SQLModel, table=True):
    __tablename__ = "quality_nonconformance"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True, description="NC-<id>")
    at: datetime = Field(default_factory=utcnow)
    work_order: str = Field(max_length=16, index=True)
    operation: str = Field(max_length=4)
    lot: str | None = Field(default=None, max_length=80)
    description: str
    inspection_id: int | None = Field(default=None, foreign_key="quality_inspection.id")
    hold_id: str | None = Field(default=None, max_length=32)
    reported_by: str = Field(max_length=64)


class InspectionPlanRecord(SQLModel, table=True):
    __tablename__ = "quality_inspection_plan"

    routing: str = Field(primary_key=True, max_length=64)
    operation: str = Field(primary_key=True, max_length=4)
    plan_json: str
    updated_by: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=utcnow)


class InspectionRecord(SQLModel, table=True):
    __tablename__ = "quality_inspection"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    work_order: str = Field(max_length=16, index=True)
    operation: str = Field(max_length=4)
    lot: str | None = Field(default=None, max_length=80)
    results_json: str
    passed: bool
    summary: str
    by: str = Field(max_length=64)
