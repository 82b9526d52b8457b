"""The dashboard's stored figures: each completed work order's lead-time split, written when
the order completes, so that the delivery report reads rows instead of recomputing timelines
(docs/dashboard.md, "Stored splits")."""

from datetime import datetime

from sqlmodel import Field, SQLModel


class DeliverySplit(SQLModel, table=True):
    """The delivery figures of one completed work order, as `delivery.rows_of` computes them
    at its completion. `completed_at` is the completion they belong to: a row whose time no
    longer matches the order's (a corrected completion) is ignored and recomputed."""

    __tablename__ = "dashboard_delivery_split"

    work_order_id: int = Field(primary_key=True, foreign_key="work_order.id")
    completed_at: datetime
    lead_time_h: float
    queue_h: float
    run_h: float
    hold_h: float
    downtime_h: float
    cause: str | None = Field(default=None, max_length=32)
    contributions_json: str = "{}"
