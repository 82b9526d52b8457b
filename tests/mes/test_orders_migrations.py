"""The Alembic migrations create exactly the tables that SQLModel.metadata describes.

When this fails after adding or changing a table, regenerate the migration:
`alembic -c mes/alembic.ini -x url=sqlite:////tmp/x.db revision --autogenerate -m "..."`
(see docs/mes.md, "Migrations")."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from mes.core.db import make_engine
from mes.migrations.registry import import_all_models
from mes.migrations.run import upgrade_head
from tests.mes.orders_support import empty_db_url  # noqa: F401


def test_migrations_match_the_metadata(empty_db_url):  # noqa: F811
    engine = make_engine(empty_db_url)
    try:
        upgrade_head(engine)
        upgrade_head(engine)  # idempotent: a restarted MES runs it again
        metadata = import_all_models()
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": False})
            diff = compare_metadata(ctx, metadata)
            tables = set(inspect(conn).get_table_names())
        assert diff == [], f"migrations and models differ: {diff}"
        assert {
            "work_order",
            "operation",
            "production_event",
            "outbox_message",
            "audit_log",
            "genealogy_link",
            "erp_message",
        } <= tables
    finally:
        engine.dispose()
