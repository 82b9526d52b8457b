"""Each completed order's lead-time split is stored when it completes (`DeliverySplits`,
through the production service the MES runs) and backfilled for history: the stored rows
give the same report as the live computation."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from sqlmodel import Session, col, select

from mes.core.db import make_engine
from mes.dashboard import delivery
from mes.dashboard.models import DeliverySplit
from mes.migrations.run import alembic_config, upgrade_head
from mes.orders.models import WorkOrder
from mes.wiring import production
from tests.dashboard.seed import at, seed
from tests.services.postgres import Postgres

NOW = datetime(2026, 11, 7, 12, tzinfo=UTC)


def _report(session: Session) -> list[Any]:
    wo = select(WorkOrder.number).where(col(WorkOrder.number).is_not(None))
    return [delivery.one(session, n, NOW) for n in session.exec(wo).all() if n]


def test_stored_split_equals_the_computed_one(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/mes.db")
    try:
        upgrade_head(engine)
        seed(engine)
        with Session(engine) as s:
            live = _report(s)
            assert s.exec(select(DeliverySplit)).all() == []
            # the seeded history has no stored split: the backfill (as the migration runs on
            # an upgraded database) stores the three completed orders
            assert delivery.backfill(s, NOW) == 3
            s.commit()
            assert len(s.exec(select(DeliverySplit)).all()) == 3
            assert _report(s) == live
            # completing WO-4 through the production service stores its split in the same
            # transaction, equal to the split computed from its timeline
            done = at(6, 18)
            production().complete_operation(
                s,
                "WO-000004",
                "0020",
                workstation="ws-20",
                operator=None,
                actor="station:ws-20",
                at=done,
            )
            s.commit()
            wo4 = s.exec(select(WorkOrder).where(WorkOrder.number == "WO-000004")).one()
            assert wo4.id is not None
            assert wo4.completed_at is not None
            stored = s.get(DeliverySplit, wo4.id)
            assert stored is not None
            computed = delivery.figures_of(s, [wo4], NOW)[wo4.id]
            assert (
                stored.lead_time_h,
                stored.queue_h,
                stored.run_h,
                stored.hold_h,
                stored.downtime_h,
                stored.cause,
            ) == (
                computed.lead_time_h,
                computed.queue_h,
                computed.run_h,
                computed.hold_h,
                computed.downtime_h,
                computed.cause,
            )
            assert computed.lead_time_h == 34  # released 5 Nov 08:00, completed 6 Nov 18:00
            row = delivery.one(s, "WO-000004", NOW + timedelta(days=3))
            assert row is not None
            assert row.lead_time_h == 34
            assert row.cause == computed.cause
            # a corrected completion time no longer matches the stored row: computed live
            wo4.completed_at = at(6, 20)
            s.add(wo4)
            s.commit()
            again = delivery.one(s, "WO-000004", NOW)
            assert again is not None
            assert again.lead_time_h == 36
    finally:
        engine.dispose()


def test_the_migration_backfills_completed_history(tmp_path: Path) -> None:
    """A database with history at 0005 gets a stored split for each completed order when it
    upgrades, equal to the live computation."""
    assert _backfilled_on_upgrade(f"sqlite:///{tmp_path}/mes.db") == 3


def test_the_migration_backfills_on_postgresql(postgres: Postgres) -> None:
    url = postgres.create_database()
    try:
        assert _backfilled_on_upgrade(url) == 3
    finally:
        postgres.drop_database(url)


def _backfilled_on_upgrade(url: str) -> int:
    """Upgrades a seeded 0005 database to the head; checks each stored split against the live
    computation and returns how many were stored."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0005_dashboard")
            conn.commit()
        seed(engine)
        upgrade_head(engine)
        with Session(engine) as s:
            stored = {r.work_order_id: r for r in s.exec(select(DeliverySplit)).all()}
            done = s.exec(select(WorkOrder).where(col(WorkOrder.completed_at).is_not(None))).all()
            assert set(stored) == {w.id for w in done}
            assert len(stored) == 3
            live = delivery.figures_of(s, done, NOW)
            for wo_id, f in live.items():
                r = stored[wo_id]
                assert (r.lead_time_h, r.queue_h, r.run_h, r.hold_h, r.downtime_h, r.cause) == (
                    f.lead_time_h,
                    f.queue_h,
                    f.run_h,
                    f.hold_h,
                    f.downtime_h,
                    f.cause,
                )
            return len(stored)
    finally:
        engine.dispose()
