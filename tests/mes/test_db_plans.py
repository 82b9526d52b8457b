"""PostgreSQL plans that keep the scan path fast as its tables grow (see mes/db.py)."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, text
from sqlmodel import Session

from mes.core.db import make_engine
from mes.migrations.run import upgrade_head
from mes.reporting.handler import _KNOWN_EVENTS
from mes.reporting.models import ScanRecord


def _seq_scans_of_the_grown_scan_log(url: str, **engine_kwargs: Any) -> int:
    """The batch's event-id lookup, run often while the scan log was small (a new plant: the
    driver then prepares it), again after the log grew: how many of those runs read it whole."""
    engine = make_engine(url, **engine_kwargs)
    upgrade_head(engine)
    ids = {"ids": [f"new-{i}" for i in range(20)]}
    now = datetime.now(UTC)
    log = [
        {
            "event_id": f"ev-{i}",
            "station": "ws-01",
            "code": "QTY:1",
            "source": "scan",
            "actor": "ws-01",
            "received_at": now,
            "accepted": True,
            "status": 200,
            "answer": "{}",
        }
        for i in range(20_000)
    ]
    count = text("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'scan_log'")
    try:
        with Session(engine) as s:
            table = ScanRecord.__table__  # type: ignore[attr-defined]
            s.execute(insert(table), log[:200])
            s.execute(text("ANALYZE scan_log"))  # autovacuum's first look, at a new plant
            for _ in range(20):  # prepared after 5, generic plan after 5 more
                s.exec(_KNOWN_EVENTS, params=ids).all()
            s.execute(insert(table), log[200:])
            before = s.execute(count).scalar_one()
            for _ in range(3):
                assert s.exec(_KNOWN_EVENTS, params=ids).all() == []
            return int(s.execute(count).scalar_one() - before)
    finally:
        engine.dispose()


def test_a_grown_table_is_not_read_whole_by_a_plan_made_when_it_was_empty(
    postgres_url: str,
) -> None:
    assert _seq_scans_of_the_grown_scan_log(postgres_url) == 0


def test_without_the_setting_the_cached_plan_reads_it_whole(postgres_url: str) -> None:
    """The control: with PostgreSQL's default plan cache, the trap is real."""
    assert _seq_scans_of_the_grown_scan_log(postgres_url, connect_args={"options": ""}) == 3
