"""auth: failed logins per user name and client address, shared by the MES replicas

Revision ID: 0007_login_failure
Revises: 0006_delivery_split
Create Date: 2026-12-06 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision: str = "0007_login_failure"
down_revision: str | None = "0006_delivery_split"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_failure",
        sa.Column("kind", AutoString(length=16), nullable=False),
        sa.Column("key", AutoString(length=255), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_at", UTCDateTime(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key"),
    )
    op.create_index("ix_login_failure_last_at", "login_failure", ["last_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_login_failure_last_at", table_name="login_failure")
    op.drop_table("login_failure")
