"""Two MES processes (`shopfloor mes serve`) on one PostgreSQL: every confirmation reaches the
ERP, and one order's confirmations arrive in the order they were committed, even when the
leader relay is killed mid-stream."""

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import yaml
from sqlmodel import Session, col, select

from mes.core.db import make_engine
from mes.orders.models import WorkOrder
from mes.outbox.models import OutboxMessage
from mes.wiring import production as build_production
from simulators.erp import ErpSimulator
from tests.mes.orders_support import plant_config, plant_file
from tests.services.ports import free_port, port_open, wait_for
from uns.topics import Namespace

P = build_production()

SHOPFLOOR = str(Path(sys.executable).with_name("shopfloor"))
QTY = 12


def serve(
    replica: str, plant: Path, db_url: str, broker_url: str, log: Path
) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {
        **os.environ,
        "SHOPFLOOR_DATABASE__URL": db_url,
        "SHOPFLOOR_BROKER__URL": broker_url,
        "SHOPFLOOR_MES__PORT": str(port),
    }
    proc = subprocess.Popen(
        [
            SHOPFLOOR,
            "mes",
            "serve",
            "-c",
            str(plant),
            "--replica",
            replica,
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    wait_for(lambda: port_open(port) or proc.poll() is not None, 60, f"replica {replica}")
    assert proc.poll() is None, log.read_text()
    return proc, port


def work(engine, number: str) -> None:
    """One order worked unit by unit, one transaction per report, as stations would."""

    def tx(fn, *a, **kw):
        with Session(engine) as s:
            fn(s, *a, **kw)
            s.commit()

    for opno, ws in (("0010", "ws-10"), ("0020", "ws-20")):
        tx(P.start_operation, number, opno, workstation=ws, operator="E1")
        for _ in range(QTY):
            tx(
                P.report_good,
                number,
                opno,
                quantity=1,
                workstation=ws,
                operator="E1",
                tolerance_percent=0,
            )
        tx(P.complete_operation, number, opno, workstation=ws, operator="E1")


def test_two_replicas_keep_each_orders_confirmations_in_order(tmp_path, postgres_url, mosquitto):
    plant = plant_file(tmp_path)
    cfg = plant_config()
    ns = Namespace(cfg.plant.enterprise, yaml.safe_load(plant.read_text())["plant"]["site"])
    a, _ = serve("A", plant, postgres_url, mosquitto.url, tmp_path / "a.log")
    b, _ = serve("B", plant, postgres_url, mosquitto.url, tmp_path / "b.log")
    broker = cfg.broker.model_copy(update={"url": mosquitto.url})
    erp = ErpSimulator(broker, ns, client_id=f"erp-{tmp_path.name}").start()
    engine = make_engine(postgres_url)
    try:
        orders = [f"PO-R{i}" for i in range(3)]
        for erp_id in orders:
            erp.release(erp_id, "BRKT-200", QTY, "RT-BRKT-200")

        def numbers():
            with Session(engine) as s:
                return s.exec(select(WorkOrder.number).order_by(col(WorkOrder.id))).all()

        wait_for(lambda: len(numbers()) == 3, 20, "three work orders")
        threads = [threading.Thread(target=work, args=(engine, n)) for n in numbers()]
        for t in threads:
            t.start()
        assert erp.wait(lambda led: len(led.confirmations) >= 10, 20)
        a.send_signal(signal.SIGKILL)  # the first replica (the leader) dies mid-stream
        a.wait(10)
        for t in threads:
            t.join(60)
        with Session(engine) as s:
            rows = s.exec(
                select(OutboxMessage)
                .where(OutboxMessage.kind == "confirmation")
                .order_by(col(OutboxMessage.id))
            ).all()
        expected = {e: [r.message_id for r in rows if r.erp_id == e] for e in orders}
        assert all(len(v) == 2 * (QTY + 1) for v in expected.values())
        assert erp.wait(lambda led: len(led.confirmations) == len(rows), 30), (
            f"{len(erp.ledger.confirmations)} of {len(rows)} confirmations arrived"
        )
        for erp_id in orders:
            got = [c["message_id"] for c in erp.ledger.for_order(erp_id)]
            assert got == expected[erp_id], f"{erp_id} confirmations out of order"
            assert sum(c["good"] for c in erp.ledger.for_order(erp_id)) == 2 * QTY

        def closed():
            with Session(engine) as s:
                return s.exec(select(WorkOrder.status)).all() == ["CLOSED"] * 3

        wait_for(closed, 20, "all orders CLOSED by the ERP's acks (handled by replica B)")
        b.send_signal(signal.SIGTERM)
        assert b.wait(20) == 0  # clean shutdown on SIGTERM
    finally:
        erp.stop()
        engine.dispose()
        for p in (a, b):
            if p.poll() is None:
                p.kill()
                p.wait(10)
