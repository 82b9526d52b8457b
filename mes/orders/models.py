"""ERP orders, work orders, their operations and active holds."""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel, UniqueConstraint

from mes.core.clock import utcnow


class ErpOrder(SQLModel, table=True):
    __tablename__ = "erp_order"

    id: int | None = Field(default=None, primary_key=True)
    erp_id: str = Field(max_length=64, unique=True)
    product: str = Field(max_length=64)
    quantity: int
    unit: str = Field(default="pcs", max_length=16)
    due_at: datetime | None = None
    priority: int = 0
    routing_id: str = Field(max_length=64)
    components_json: str = "[]"
    last_message_id: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ErpMessage(SQLModel, table=True):
    """Every ERP message processed, by message_id: a resend changes nothing."""

    __tablename__ = "erp_message"

    message_id: str = Field(primary_key=True, max_length=128)
    erp_id: str | None = Field(default=None, max_length=64)
    type: str | None = Field(default=None, max_length=32)
    outcome: str = Field(max_length=16)
    error_code: str | None = Field(default=None, max_length=64)
    work_order: str | None = Field(default=None, max_length=16)
    received_at: datetime = Field(default_factory=utcnow)


class WorkOrder(SQLModel, table=True):
    __tablename__ = "work_order"

    id: int | None = Field(default=None, primary_key=True)
    number: str | None = Field(default=None, max_length=16, unique=True)
    erp_order_id: int = Field(foreign_key="erp_order.id", index=True)
    erp_id: str = Field(max_length=64)
    product: str = Field(max_length=64)
    quantity: int
    unit: str = Field(default="pcs", max_length=16)
    due_at: datetime | None = Field(default=None, index=True)
    priority: int = 0
    routing_id: str = Field(max_length=64)
    status: str = Field(default="PLANNED", max_length=16, index=True)
    held_from: str | None = Field(default=None, max_length=16)
    final_message_id: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    completed_at: datetime | None = Field(default=None, index=True)
    closed_at: datetime | None = None


class WorkOrderHold(SQLModel, table=True):
    """One active hold on a work order; the order is HELD while any row exists."""

    __tablename__ = "work_order_hold"

    work_order_id: int = Field(foreign_key="work_order.id", primary_key=True)
    hold_id: str = Field(primary_key=True, max_length=64)
    reason: str = ""
    placed_at: datetime = Field(default_factory=utcnow)


class Operation(SQLModel, table=True):
    """One routing step of one work order, with its running quantities."""

    __tablename__ = "operation"
    __table_args__ = (
        UniqueConstraint("work_order_id", "number"),
        # an order's last operation, probed per production event by the dashboard's output
        Index("ix_operation_work_order_seq", "work_order_id", "seq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    work_order_id: int = Field(foreign_key="work_order.id", index=True)
    seq: int
    number: str = Field(max_length=4)
    name: str
    workstation: str | None = Field(default=None, max_length=64)
    work_centre: str | None = Field(default=None, max_length=64)
    cycle_time_s: float
    setup_time_s: float = 0.0
    components_json: str = "[]"
    status: str = Field(default="BLOCKED", max_length=16)
    good: int = 0
    scrap: int = 0
    rework: int = 0
    released: int = Field(default=0, description="good quantity released to the next operation")
    pause_reason: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    last_confirmed_at: datetime | None = None

    @property
    def processed(self) -> int:
        return self.good + self.scrap + self.rework
