"""MES core benchmark: production reports into the outbox, and the outbox relay to the broker.

1. Reports/s through `mes.production.service.report_good`, one transaction per report (event,
   operation counts, confirmation in the outbox, audit), on SQLite and on PostgreSQL when one
   answers on 127.0.0.1:5432.
2. Confirmations/s drained by `OutboxRelay` (read pending rows in order, publish QoS 1, wait
   for every PUBACK, mark published) from the reports of part 1, against a private Mosquitto,
   with a baseline from the same run: bare paho QoS 1 publishing of the same payloads with a
   wait for all PUBACKs (no database).

    .venv/bin/python bench/mes_outbox.py [--reports 2000]
"""

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from config.loader import parse_plant  # noqa: E402
from config.plant import PlantConfig  # noqa: E402
from mes.core.db import make_engine  # noqa: E402
from mes.masterdata.sync import sync_master_data  # noqa: E402
from mes.migrations.run import upgrade_head  # noqa: E402
from mes.orders.intake import apply_erp_message  # noqa: E402
from mes.outbox.broker import BrokerLink  # noqa: E402
from mes.outbox.models import OutboxMessage  # noqa: E402
from mes.outbox.relay import AlwaysLeader, OutboxRelay  # noqa: E402
from mes.wiring import production as build_production  # noqa: E402
from tests.services.mosquitto import Mosquitto  # noqa: E402
from tests.services.postgres import Postgres  # noqa: E402
from uns.client import probe_protocol  # noqa: E402
from uns.topics import Namespace  # noqa: E402

P = build_production()


def plant(db_url: str, broker_url: str) -> PlantConfig:
    data = yaml.safe_load((ROOT / "config" / "plant.yaml").read_text())
    data.pop("devices", None)
    data.get("performance", {}).pop("work_units", None)  # they name devices
    data["database"] = {"url": db_url}
    data["broker"] = {"url": broker_url}
    return parse_plant(data, environ={})


def release(engine, quantity: int) -> str:  # type: ignore[no-untyped-def]
    msg = {
        "v": 1,
        "message_id": uuid.uuid4().hex,
        "type": "order.release",
        "order": {
            "erp_id": f"PO-{uuid.uuid4().hex[:8]}",
            "product": "BRKT-200",
            "quantity": quantity,
            "routing": "RT-BRKT-200",
        },
    }
    import json

    with Session(engine) as s:
        result = apply_erp_message(s, json.dumps(msg))
        s.commit()
    assert result.work_order
    with Session(engine) as s:
        P.start_operation(s, result.work_order, "0010", workstation="ws-10", operator="E1")
        s.commit()
    return result.work_order


def bench_reports(engine, n: int) -> float:  # type: ignore[no-untyped-def]
    wo = release(engine, n)
    t0 = time.perf_counter()
    for _ in range(n):
        with Session(engine) as s:
            P.report_good(
                s, wo, "0010", quantity=1, workstation="ws-10", operator="E1", tolerance_percent=0
            )
            s.commit()
    return n / (time.perf_counter() - t0)


def pending(engine) -> list[tuple[str, bytes]]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        rows = s.exec(
            select(OutboxMessage.kind, OutboxMessage.payload)
            .where(col(OutboxMessage.published_at).is_(None))
            .order_by(col(OutboxMessage.id))
        ).all()
    return [(k, p.encode()) for k, p in rows]


def bench_baseline(link: BrokerLink, topic: str, payloads: list[bytes]) -> float:
    t0 = time.perf_counter()
    handles = [link.publish(topic, p) for p in payloads]
    assert all(h.wait(30) for h in handles)
    return len(payloads) / (time.perf_counter() - t0)


def bench_relay(engine, link: BrokerLink, ns: Namespace) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    relay = OutboxRelay(engine, link, lambda k: ns.confirmations, AlwaysLeader(), batch=500)
    t0 = time.perf_counter()
    n = relay.drain()
    return n / (time.perf_counter() - t0), n


def run(label: str, db_url: str, broker: Mosquitto, n: int) -> None:
    cfg = plant(db_url, broker.url)
    ns = Namespace(cfg.plant.enterprise, cfg.plant.site)
    engine = make_engine(db_url)
    upgrade_head(engine)
    with Session(engine) as s:
        sync_master_data(s, cfg)
        s.commit()
    rate = bench_reports(engine, n)
    print(f"{label}: {n} reports, one transaction each: {rate:,.0f} reports/s")
    link = BrokerLink(cfg.broker, f"bench-{uuid.uuid4().hex[:6]}", probe_protocol(cfg.broker), {})
    link.start()
    assert link.wait_connected(10)
    payloads = [p for _, p in pending(engine)]
    base = bench_baseline(link, ns.confirmations + "/baseline", payloads)
    relayed, count = bench_relay(engine, link, ns)
    assert count == len(payloads), (count, len(payloads))
    print(f"{label}: baseline, bare paho QoS 1 + PUBACK wait: {base:,.0f} msg/s")
    print(
        f"{label}: outbox relay (read, publish, PUBACK, mark): {relayed:,.0f} confirmations/s"
        f" ({count} sent), ratio to baseline {relayed / base:.2f}"
    )
    link.stop()
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=2000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp) / "mosquitto", persistence=False).start()
        try:
            run("sqlite", f"sqlite:///{tmp}/mes.core.db", broker, args.reports)
            pg = Postgres(Path(tmp) / "pg")
            url = pg.create_database()
            try:
                run("postgres", url, broker, args.reports)
            finally:
                pg.drop_database(url)
                pg.stop()
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
