"""The scan writer alone: CPU per QTY scan, against the bare database writes a scan needs.

No HTTP and no other thread: N stations each run a job, and the writer gets batches of N QTY:1
requests (one per station, as under load), in process. The baseline does, in the same run and
on a database of its own, only the writes every scan needs, as SQLAlchemy Core executemany
statements in one transaction per batch: one production event, one outbox confirmation, one
audit row and one scan-log row inserted, the operation and the station row updated. The ratio
says what the MES's reads, rules and ORM cost on top of the unavoidable writes. CPU is thread
time, so other load on the machine disturbs it less than wall time.

    .venv/bin/python bench/mes_writer.py                       # SQLite, batches of 10 and 20
    .venv/bin/python bench/mes_writer.py --db postgres --batch 10
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
warnings.simplefilter("ignore")

from sqlalchemy import bindparam, insert, update  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session, col  # noqa: E402

from mes.core.audit import AuditEntry  # noqa: E402
from mes.orders.intake import apply_erp_message  # noqa: E402
from mes.orders.models import Operation  # noqa: E402
from mes.outbox.models import OutboxMessage  # noqa: E402
from mes.production.models import ProductionEvent  # noqa: E402
from mes.reporting.handler import Answer  # noqa: E402
from mes.reporting.models import ScanRecord, StationState  # noqa: E402
from mes.wiring import scan_writer, station_handler  # noqa: E402
from tests.mes.test_scans_writer import prepared as prepared_stations  # noqa: E402
from tests.mes.test_scans_writer import request  # noqa: E402


def prepared(url: str, stations: int) -> tuple[Engine, list[str]]:
    """A migrated database with `stations` work-centre stations, E1 logged in at each, each
    running its own work order."""
    engine = prepared_stations(url, stations)
    with Session(engine) as s:
        orders = []
        for i in range(stations):
            message = {
                "v": 1,
                "message_id": uuid.uuid4().hex,
                "type": "order.release",
                "order": {
                    "erp_id": f"PO-W{i}",
                    "product": "BRKT-200",
                    "quantity": 1_000_000,
                    "routing": "RT-MULTI",
                },
            }
            number = apply_erp_message(s, json.dumps(message)).work_order
            assert number is not None
            orders.append(number)
        s.commit()
    return engine, orders


def mes_writer(url: str, stations: int) -> Callable[[], float]:
    """One batch of QTY:1 through the scan writer; returns its thread CPU time."""
    engine, orders = prepared(url, stations)
    writer = scan_writer(engine, station_handler(0.0))
    names = [f"ws-{i:02d}" for i in range(1, stations + 1)]

    def batch(codes: list[str]) -> tuple[float, list[Answer]]:
        items: list[Any] = [(request(n, c), Future()) for n, c in zip(names, codes, strict=True)]
        started = time.thread_time()
        writer._process(items)
        cpu = time.thread_time() - started
        return cpu, [f.result(0) for _, f in items]

    for code in (["EMP:E1"] * stations, [f"WO:{o}" for o in orders], ["CMD:START"] * stations):
        assert all(a.status == 200 for a in batch(code)[1])

    def one() -> float:
        cpu, answers = batch(["QTY:1"] * stations)
        assert all(a.status == 200 for a in answers), answers[0].body
        return cpu

    return one


def bare_writes(url: str, stations: int) -> Callable[[], float]:
    """The writes of one batch of QTY:1, as Core executemany, one transaction."""
    engine, orders = prepared(url, stations)
    with Session(engine) as s:
        ops = s.exec(
            Operation.__table__.select().order_by(col(Operation.work_order_id))  # type: ignore[attr-defined]
        ).all()
    op_rows = [(op.id, op.work_order_id) for op in ops]
    names = [f"ws-{i:02d}" for i in range(1, stations + 1)]
    with engine.begin() as conn:
        conn.execute(insert(StationState.__table__), [{"station": n} for n in names])  # type: ignore[attr-defined]
    good = [0] * stations

    def one() -> float:
        started = time.thread_time()
        now = datetime.now(UTC)
        with engine.begin() as conn:
            events, outbox, audit, scans, op_updates, state_updates = [], [], [], [], [], []
            for i, (name, (op_id, wo_id)) in enumerate(zip(names, op_rows, strict=True)):
                good[i] += 1
                message_id = uuid.uuid4().hex
                events.append(
                    {
                        "at": now,
                        "kind": "quantity.good",
                        "work_order_id": wo_id,
                        "operation_id": op_id,
                        "workstation": name,
                        "operator": "E1",
                        "actor": f"station:{name}",
                        "good": 1,
                        "scrap": 0,
                        "rework": 0,
                        "detail_json": "{}",
                        "confirmation_message_id": message_id,
                    }
                )
                outbox.append(
                    {
                        "message_id": message_id,
                        "kind": "confirmation",
                        "erp_id": f"PO-W{i}",
                        "work_order_id": wo_id,
                        "final": False,
                        "payload": json.dumps({"good": 1, "message_id": message_id}),
                        "created_at": now,
                    }
                )
                audit.append(
                    {
                        "at": now,
                        "actor": f"station:{name}",
                        "action": "quantity.good",
                        "target": orders[i],
                        "station": name,
                        "detail_json": "{}",
                    }
                )
                scans.append(
                    {
                        "event_id": str(uuid.uuid4()),
                        "station": name,
                        "code": "QTY:1",
                        "source": "scan",
                        "actor": f"station:{name}",
                        "received_at": now,
                        "accepted": True,
                        "status": 200,
                        "action": "quantity.good",
                        "answer": json.dumps({"accepted": True, "good": good[i]}),
                    }
                )
                op_updates.append({"op_id": op_id, "good": good[i], "released": good[i]})
                state_updates.append({"name": name, "last_code": "QTY:1", "last_code_at": now})
            conn.execute(insert(ProductionEvent.__table__), events)  # type: ignore[attr-defined]
            conn.execute(insert(OutboxMessage.__table__), outbox)  # type: ignore[attr-defined]
            conn.execute(insert(AuditEntry.__table__), audit)  # type: ignore[attr-defined]
            conn.execute(insert(ScanRecord.__table__), scans)  # type: ignore[attr-defined]
            op_table = Operation.__table__  # type: ignore[attr-defined]
            conn.execute(
                update(op_table)
                .where(op_table.c.id == bindparam("op_id"))
                .values(good=bindparam("good"), released=bindparam("released")),
                op_updates,
            )
            st_table = StationState.__table__  # type: ignore[attr-defined]
            conn.execute(
                update(st_table)
                .where(st_table.c.station == bindparam("name"))
                .values(last_code=bindparam("last_code"), last_code_at=bindparam("last_code_at")),
                state_updates,
            )
        return time.thread_time() - started

    return one


def measure(one: Callable[[], float], batches: int, stations: int) -> float:
    """Median CPU per scan over `batches` batches (ms), after 3 warm-up batches."""
    for _ in range(3):
        one()
    return statistics.median(one() for _ in range(batches)) * 1000 / stations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--batch", type=int, nargs="+", default=[10, 20], help="scans per batch")
    parser.add_argument("--batches", type=int, default=40, help="measured batches per run")
    parser.add_argument("--rounds", type=int, default=3, help="paired rounds (median ratio)")
    args = parser.parse_args()
    print(f"mes_writer: {args.db}, {args.batches} batches x {args.rounds} rounds, QTY:1 scans")
    with tempfile.TemporaryDirectory() as tmp:
        pg = None
        created: list[str] = []
        if args.db == "postgres":
            from tests.services.postgres import Postgres

            pg = Postgres(Path(tmp) / "pg")
        try:
            for n in args.batch:
                ours, bare = [], []
                for r in range(args.rounds):
                    urls = []
                    for side in ("mes", "bare"):
                        if pg is None:
                            urls.append(f"sqlite:///{tmp}/{side}-{n}-{r}.db")
                        else:
                            urls.append(pg.create_database())
                            created.append(urls[-1])
                    ours.append(measure(mes_writer(urls[0], n), args.batches, n))
                    bare.append(measure(bare_writes(urls[1], n), args.batches, n))
                ratios = [o / b for o, b in zip(ours, bare, strict=True)]
                print(
                    f"  batches of {n:3d}: scan writer {statistics.median(ours):.2f} ms CPU per "
                    f"scan, bare writes {statistics.median(bare):.2f} ms; writer/bare "
                    f"{statistics.median(ratios):.1f}x (rounds: "
                    + ", ".join(f"{o:.2f}/{b:.2f}" for o, b in zip(ours, bare, strict=True))
                    + ")",
                    flush=True,
                )
        finally:
            if pg is not None:
                for url in created:
                    pg.drop_database(url)
                pg.stop()


if __name__ == "__main__":
    main()
