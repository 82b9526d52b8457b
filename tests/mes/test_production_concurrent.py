"""Parallel reports on one operation from many threads on PostgreSQL (READ COMMITTED): the
work-order row lock makes the counts exact and the over-report limit hold."""

import threading

from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from mes.core.errors import Refusal
from mes.orders.models import Operation
from mes.wiring import production as build_production
from tests.mes.orders_support import migrated_engine, outbox, plant_config, release

P = build_production()


def test_parallel_reports_are_exact(postgres_url):
    engine = migrated_engine(postgres_url, plant_config())
    try:
        wo = release(engine, "PO-PAR", 100)
        with Session(engine) as s:
            P.start_operation(s, wo, "0010", workstation="ws-10", operator="E0")
            s.commit()
        accepted: list[int] = []
        refused: list[str] = []
        lock = threading.Lock()

        def operator(badge: str) -> None:
            for _ in range(15):  # 8 x 15 = 120 attempts on an order of 100
                try:
                    with Session(engine) as s:
                        P.report_good(
                            s,
                            wo,
                            "0010",
                            quantity=1,
                            workstation="ws-10",
                            operator=badge,
                            tolerance_percent=0,
                        )
                        s.commit()
                    with lock:
                        accepted.append(1)
                except Refusal as exc:
                    with lock:
                        refused.append(exc.code)
                except OperationalError as exc:  # pragma: no cover - would be a test failure
                    raise AssertionError(exc) from exc

        threads = [threading.Thread(target=operator, args=(f"E{i}",)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        with Session(engine) as s:
            op = s.exec(select(Operation).where(Operation.number == "0010")).one()
        assert len(accepted) == 100
        assert set(refused) == {"QUANTITY_ABOVE_ORDER"}
        assert len(refused) == 20
        assert (op.good, op.released) == (100, 100)
        confs = outbox(engine, "confirmation")
        assert len(confs) == 100
        assert sum(c["good"] for c in confs) == 100
    finally:
        engine.dispose()
