"""A small plant of known orders, due dates, completions, scrap, holds and stops, seeded
straight into the tables; the figures asserted in the tests are worked out by hand below."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from mes.core.audit import AuditEntry
from mes.orders.models import ErpOrder, Operation, WorkOrder
from mes.performance.models import DowntimeEvent, PeriodFigures
from mes.production.models import ProductionEvent
from mes.quality.models import HoldRecord

#: the week the tests read: Monday 2 November 2026 to Monday 9 November (plant zone UTC)
START = datetime(2026, 11, 2, tzinfo=UTC)
END = datetime(2026, 11, 9, tzinfo=UTC)
RANGE = {"period": "range", "start": START.isoformat(), "end": END.isoformat()}


def at(day: int, hour: float) -> datetime:
    return datetime(2026, 11, day, tzinfo=UTC) + timedelta(hours=hour)


@dataclass
class Step:
    number: str
    name: str
    station: str
    good: int = 0
    scrap: int = 0
    reason: str | None = None
    status: str = "DONE"
    started: datetime | None = None
    ended: datetime | None = None
    released: int = 0


def order(
    session: Session,
    n: int,
    product: str,
    qty: int,
    status: str,
    released: datetime,
    due: datetime | None,
    done: datetime | None,
    steps: list[Step],
) -> WorkOrder:
    erp = ErpOrder(erp_id=f"PO-{n}", product=product, quantity=qty, routing_id="RT", due_at=due)
    session.add(erp)
    session.flush()
    assert erp.id is not None
    wo = WorkOrder(
        number=f"WO-{n:06d}",
        erp_order_id=erp.id,
        erp_id=erp.erp_id,
        product=product,
        quantity=qty,
        due_at=due,
        routing_id="RT",
        status=status,
        created_at=released,
        started_at=steps[0].started if steps else None,
        completed_at=done,
    )
    session.add(wo)
    session.flush()
    assert wo.id is not None
    for seq, s in enumerate(steps):
        op = Operation(
            work_order_id=wo.id,
            seq=seq,
            number=s.number,
            name=s.name,
            workstation=s.station,
            cycle_time_s=60,
            status=s.status,
            good=s.good,
            scrap=s.scrap,
            released=s.released or s.good,
            started_at=s.started,
            ended_at=s.ended,
        )
        session.add(op)
        session.flush()
        when = s.ended or s.started or released
        if s.good or s.scrap:
            session.add(
                ProductionEvent(
                    at=when,
                    kind="quantity.good",
                    work_order_id=wo.id,
                    operation_id=op.id,
                    workstation=s.station,
                    actor="station:ws-10",
                    good=s.good,
                    scrap=s.scrap,
                    reason=s.reason,
                )
            )
    return wo


def seed(engine: Engine) -> None:
    """Orders due in the week (hand-worked figures in the tests):

    WO-1 due 3 Nov 12:00, completed 10:00: on time.  WO-2 due 4 Nov 12:00, completed 5 Nov
    12:00: late (a 20 h hold). WO-3 due 5 Nov 12:00, completed 11:00: on time. WO-4 due 6 Nov
    12:00, still running: open overdue (late). WO-5 due 20 Nov: WIP only. WO-6 cancelled.
    On time: 2 of 4 = 0.5.
    Scrap in the week: SCRATCH 5 + 7 = 12, BURR 12, DENT 3 (Pareto: BURR, SCRATCH, DENT).
    WIP: WO-4 has 60 at 0020 (100 released by 0010, 40 processed); WO-5 has 30 at 0010.
    """
    with Session(engine) as s:
        order(
            s,
            1,
            "BRKT-200",
            100,
            "COMPLETED",
            at(2, 8),
            at(3, 12),
            at(3, 10),
            [
                Step(
                    "0010", "Stamp", "ws-10", 100, 5, "SCRATCH", started=at(2, 9), ended=at(2, 20)
                ),
                Step("0020", "Bend", "ws-20", 95, 3, "DENT", started=at(3, 6), ended=at(3, 10)),
            ],
        )
        wo2 = order(
            s,
            2,
            "BRKT-200",
            50,
            "COMPLETED",
            at(3, 8),
            at(4, 12),
            at(5, 12),
            [
                Step("0010", "Stamp", "ws-10", 50, 7, "SCRATCH", started=at(3, 9), ended=at(3, 12)),
                Step("0020", "Bend", "ws-20", 50, started=at(4, 10), ended=at(5, 12)),
            ],
        )
        order(
            s,
            3,
            "PLATE-9",
            20,
            "COMPLETED",
            at(4, 8),
            at(5, 12),
            at(5, 11),
            [
                Step("0010", "Cut", "ws-10", 20, 12, "BURR", started=at(4, 9), ended=at(5, 11)),
            ],
        )
        wo4 = order(
            s,
            4,
            "BRKT-200",
            100,
            "RUNNING",
            at(5, 8),
            at(6, 12),
            None,
            [
                Step("0010", "Stamp", "ws-10", 100, started=at(5, 9), ended=at(5, 20)),
                Step(
                    "0020", "Bend", "ws-20", 40, 0, status="RUNNING", started=at(6, 8), released=0
                ),
            ],
        )
        order(
            s,
            5,
            "PLATE-9",
            30,
            "RELEASED",
            at(6, 8),
            at(20, 12),
            None,
            [
                Step("0010", "Cut", "ws-10", status="READY"),
            ],
        )
        order(s, 6, "PLATE-9", 10, "CANCELLED", at(6, 8), at(7, 12), None, [])
        # WO-4 was released for 40 and raised to 100 by the ERP: 60 more x 2 min of cycle time
        for action, qty in (("order.release", 40), ("order.change", 100)):
            s.add(
                AuditEntry(
                    actor="service:erp",
                    action=action,
                    target=wo4.number or "",
                    detail_json=json.dumps({"quantity": qty}),
                )
            )
        # WO-2: on hold from 4 Nov 12:00 to 5 Nov 08:00 (20 h), a 2 h stop of ws-20 while
        # its 0020 ran (4 Nov 10:00-12:00), and an unrelated stop of ws-10 the next day
        s.add(
            HoldRecord(
                hold_id="H-1",
                target_kind="work_order",
                target_id=wo2.number or "",
                state="released",
                reason="check",
                owner="qa",
                placed_by="user:qa1",
                placed_at=at(4, 12),
                released_at=at(5, 8),
            )
        )
        s.add(
            DowntimeEvent(
                work_unit="ws-20", start=at(4, 10), end=at(4, 12), state="fault", reason="DIE"
            )
        )
        s.add(DowntimeEvent(work_unit="ws-10", start=at(6, 1), end=at(6, 2), state="fault"))
        # OEE of line1 on 3 Nov from an 8 h shift of ws-10 running 6 h (75 %) and a 4 h one
        # of ws-20 running 1 h (25 %): availability 7 / 12, not the mean of 75 % and 25 %
        for unit, start, hours, apt in (
            ("ws-10", at(3, 6), 8, 6 * 3600.0),
            ("ws-20", at(3, 14), 4, 1 * 3600.0),
        ):
            s.add(
                PeriodFigures(
                    work_unit=unit,
                    line="stamping/line1",  # area/line, as the performance layer keeps it
                    start=start,
                    end=start + timedelta(hours=hours),
                    pot_s=hours * 3600,
                    apt_s=apt,
                    adet_fault_s=hours * 3600 - apt,
                    produced=100,
                    good=90,
                    scrap=10,
                    ideal_time_s=apt / 2,
                )
            )
        s.commit()
