"""A real SQLite (or PostgreSQL) MES database with every table, and a running work order."""

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

import mes.alarms.models
import mes.core.audit
import mes.orders.models
import mes.production.models
import mes.quality.models  # noqa: F401  (registers the tables)
from mes.core.db import make_engine
from mes.orders.models import ErpOrder, Operation, WorkOrder
from mes.production.models import Lot


def database(url: str) -> Engine:
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    return engine


def running_work_order(engine: Engine, number: str = "WO-000001", station: str = "ws-20") -> int:
    """A RUNNING work order whose operation 0020 runs at `station`, with one lot made."""
    with Session(engine) as s:
        erp = ErpOrder(erp_id=f"PO-{number}", product="BRKT-200", quantity=100, routing_id="RT")
        s.add(erp)
        s.flush()
        assert erp.id is not None
        wo = WorkOrder(
            number=number,
            erp_order_id=erp.id,
            erp_id=erp.erp_id,
            product="BRKT-200",
            quantity=100,
            routing_id="RT",
            status="RUNNING",
        )
        s.add(wo)
        s.flush()
        assert wo.id is not None
        s.add(
            Operation(
                work_order_id=wo.id,
                seq=2,
                number="0020",
                name="Cure",
                workstation=station,
                cycle_time_s=1.0,
                status="RUNNING",
            )
        )
        s.add(
            Lot(
                kind="lot",
                code=f"{number}-L1",
                product="BRKT-200",
                work_order_id=wo.id,
                created_at=datetime.now(UTC),
            )
        )
        s.commit()
        return wo.id
