"""Alembic migrations of the MES database (`upgrade_head` runs at MES start)."""
