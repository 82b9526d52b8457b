"""dashboard indexes: orders by due date and completion, downtime by time, audit by target

Revision ID: 0005_dashboard
Revises: 0004_planning
Create Date: 2026-12-06 08:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005_dashboard"
down_revision: str | None = "0004_planning"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_order_due_at"), ["due_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_work_order_completed_at"), ["completed_at"], unique=False
        )
    with op.batch_alter_table("perf_downtime", schema=None) as batch_op:
        batch_op.create_index("ix_perf_downtime_start", ["start"], unique=False)
        batch_op.create_index("ix_perf_downtime_end", ["end"], unique=False)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_target"), ["target"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_target"))
    with op.batch_alter_table("perf_downtime", schema=None) as batch_op:
        batch_op.drop_index("ix_perf_downtime_end")
        batch_op.drop_index("ix_perf_downtime_start")
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_order_completed_at"))
        batch_op.drop_index(batch_op.f("ix_work_order_due_at"))
