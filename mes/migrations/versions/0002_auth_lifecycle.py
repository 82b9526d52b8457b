"""Auth lifecycle: operators' PINs, when a token was revoked (issue 18)

Revision ID: 0002_auth
Revises: 0001
Create Date: 2026-12-06 05:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0002_auth"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("auth_operator", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pin_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )
    with op.batch_alter_table("auth_token", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("auth_token", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
    with op.batch_alter_table("auth_operator", schema=None) as batch_op:
        batch_op.drop_column("pin_hash")
