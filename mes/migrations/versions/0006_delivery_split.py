"""dashboard: each completed work order's stored delivery split (backfilled); operations by
work order and sequence (an order's last operation)

Revision ID: 0006_delivery_split
Revises: 0005_dashboard
Create Date: 2026-12-06 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel import Session
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

from mes.core.clock import utcnow

revision: str = "0006_delivery_split"
down_revision: str | None = "0005_dashboard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dashboard_delivery_split",
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=False),
        sa.Column("lead_time_h", sa.Float(), nullable=False),
        sa.Column("queue_h", sa.Float(), nullable=False),
        sa.Column("run_h", sa.Float(), nullable=False),
        sa.Column("hold_h", sa.Float(), nullable=False),
        sa.Column("downtime_h", sa.Float(), nullable=False),
        sa.Column("cause", AutoString(length=32), nullable=True),
        sa.Column("contributions_json", AutoString(), nullable=False),
        sa.ForeignKeyConstraint(["work_order_id"], ["work_order.id"]),
        sa.PrimaryKeyConstraint("work_order_id"),
    )
    with op.batch_alter_table("operation", schema=None) as batch_op:
        batch_op.create_index("ix_operation_work_order_seq", ["work_order_id", "seq"], unique=False)
    # the history already completed: computed once here, as the MES stores it from now on
    from mes.dashboard.delivery import backfill

    with Session(bind=op.get_bind()) as session:
        backfill(session, utcnow())
        session.flush()


def downgrade() -> None:
    with op.batch_alter_table("operation", schema=None) as batch_op:
        batch_op.drop_index("ix_operation_work_order_seq")
    op.drop_table("dashboard_delivery_split")
