"""Confirmations survive a broker outage and an MES restart: all arrive afterwards, in order."""

from sqlmodel import Session, select

from mes.core.db import make_engine
from mes.orders.models import WorkOrder
from mes.runtime import MesRuntime
from mes.wiring import production as build_production
from simulators.erp import ErpSimulator
from tests.mes.test_erp_flow import runtime_config
from tests.services.ports import wait_for

P = build_production()


def report(engine, number, opno, ws, n):
    with Session(engine) as s:
        P.report_good(
            s, number, opno, quantity=n, workstation=ws, operator="E1", tolerance_percent=0
        )
        s.commit()


def number_of(engine, erp_id):
    with Session(engine) as s:
        wo = s.exec(select(WorkOrder).where(WorkOrder.erp_id == erp_id)).first()
        return wo.number if wo else None


def test_broker_down_then_mes_restart_loses_nothing(tmp_path, mosquitto_factory):
    broker = mosquitto_factory().start()
    cfg = runtime_config(tmp_path, broker.url)
    rt = MesRuntime(cfg, replica=f"o-{tmp_path.name}", relay_interval_s=0.05)
    rt.start_sync()
    erp = ErpSimulator(cfg.broker, rt.ns, client_id=f"erp-{tmp_path.name}").start()
    try:
        erp.release("PO-OUT", "BRKT-200", 100, "RT-BRKT-200")
        wait_for(lambda: number_of(rt.engine, "PO-OUT"), 10, "work order")
        number = number_of(rt.engine, "PO-OUT")
        with Session(rt.engine) as s:
            P.start_operation(s, number, "0010", workstation="ws-10", operator="E1")
            s.commit()
        report(rt.engine, number, "0010", "ws-10", 1)
        assert erp.wait(lambda led: len(led.confirmations) == 1, 10)

        broker.kill()
        for n in range(2, 12):  # reports while the broker is down
            report(rt.engine, number, "0010", "ws-10", n)
        rt.stop_sync()  # ... and the MES goes down too

        db = make_engine(cfg.database.url)
        for _ in range(12, 15):  # a replica without broker keeps writing to the outbox
            report(db, number, "0010", "ws-10", 1)
        db.dispose()

        broker.start()
        assert erp.wait_subscribed(10)
        rt2 = MesRuntime(cfg, replica=f"o2-{tmp_path.name}", relay_interval_s=0.05)
        rt2.start_sync()
        try:
            assert erp.wait(lambda led: len(led.confirmations) == 14, 20), (
                f"{len(erp.ledger.confirmations)} of 14 confirmations arrived"
            )
            goods = [c["good"] for c in erp.ledger.confirmations]
            assert goods == [1, *range(2, 12), 1, 1, 1]
        finally:
            rt2.stop_sync()
    finally:
        erp.stop()
        rt.stop_sync()
