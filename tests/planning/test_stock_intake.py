"""ERP stock messages (`_erp/stock`): stored per material, idempotent, stale snapshots ignored,
bad ones rejected through the outbox, on SQLite and PostgreSQL."""

import json

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mes.orders.stock import STOCK_REJECTION
from mes.orders.stock_models import MaterialReceipt, MaterialStock
from tests.mes.orders_support import db_url, engine, outbox, pg_template, plant  # noqa: F401
from tests.planning.support import NOW, hours, put_stock, stock_message


def _stock(engine: Engine) -> tuple[float, list[tuple[str, float]]]:  # noqa: F811
    with Session(engine) as s:
        row = s.get(MaterialStock, "STEEL-2MM")
        assert row is not None
        receipts = s.exec(select(MaterialReceipt).order_by(col(MaterialReceipt.expected_at))).all()
        return row.on_hand, [(r.expected_at.isoformat()[:16], r.quantity) for r in receipts]


def test_a_snapshot_replaces_the_material_and_a_resend_changes_nothing(engine: Engine) -> None:  # noqa: F811
    first = stock_message(10, (NOW + hours(4), 500.0), (NOW + hours(28), 200.0))
    assert put_stock(engine, first).outcome == "applied"
    assert put_stock(engine, first).outcome == "duplicate"
    assert _stock(engine) == (10, [("2026-12-07T12:00", 500.0), ("2026-12-08T12:00", 200.0)])
    newer = stock_message(480, (NOW + hours(28), 200.0), at=NOW + hours(5))
    assert put_stock(engine, newer).outcome == "applied"
    assert _stock(engine) == (480, [("2026-12-08T12:00", 200.0)])
    older = stock_message(1, at=NOW + hours(1), message_id="late-resend")
    assert put_stock(engine, older).outcome == "stale"
    assert _stock(engine)[0] == 480


def test_a_bad_stock_message_is_rejected_with_the_reason(engine: Engine) -> None:  # noqa: F811
    bad = json.loads(stock_message(10))
    bad["materials"][0]["on_hand"] = -3
    result = put_stock(engine, json.dumps(bad))
    assert result.outcome == "rejected"
    assert result.rejection is not None
    assert result.rejection.code == "INVALID_MESSAGE"
    assert "on_hand" in result.rejection.message
    (rejection,) = outbox(engine, STOCK_REJECTION)
    assert rejection["message_id"] == bad["message_id"]
    assert rejection["error"]["code"] == "INVALID_MESSAGE"
    assert put_stock(engine, "not json").rejection.code == "INVALID_JSON"  # type: ignore[union-attr]
    with Session(engine) as s:
        assert s.get(MaterialStock, "STEEL-2MM") is None
