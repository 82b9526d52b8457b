"""APS on the MES: what a replan costs end to end (database -> problem -> plan -> stored plan
with its diff and `_mes/schedule` message), against planning the same problem in memory.

    .venv/bin/python bench/aps_mes.py [--orders 50] [--limit 5]

A plant of 10 workstations in 5 work centres (two each, speeds 1.0 and 0.8), 5 products in 4
setup families, routings of 4 operations with transfer waits, one tracked material; orders are
released through the ERP intake and the stock through the `_erp/stock` intake (SQLite).
Baseline in the same run: `plan()` on the problem the adapter built, with the same settings.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session

from config.plant import PlantConfig
from mes.core.db import make_engine
from mes.masterdata.sync import sync_master_data
from mes.migrations.run import upgrade_head
from mes.orders.intake import apply_erp_message
from mes.orders.stock import apply_stock_message
from mes.performance.models import DowntimeEvent
from mes.planning import store
from mes.planning.problem import build_problem
from mes.planning.service import PlanningService
from mes.scheduling import plan

CENTRES = ("SAW", "MILL", "TURN", "DRILL", "DEBURR")
PRODUCTS = {"P1": "F1", "P2": "F1", "P3": "F2", "P4": "F3", "P5": "F4"}


def plant(db: str, limit: float, frozen: float) -> PlantConfig:
    rnd = random.Random(1)
    routings = []
    for product in PRODUCTS:
        centres = rnd.sample(CENTRES, 4)
        ops: list[dict[str, Any]] = [
            {
                "number": f"{10 * (i + 1):04d}",
                "name": centre.title(),
                "work_centre": centre,
                "cycle_time_s": rnd.choice((20, 30, 45, 60)),
                "transfer_s": rnd.choice((0, 600, 1800)),
            }
            for i, centre in enumerate(centres)
        ]
        ops[0]["components"] = [{"product": "BAR", "quantity_per_unit": 1.0}]
        routings.append({"id": f"RT-{product}", "product": product, "operations": ops})
    setups = [
        {"from_family": a, "to_family": b, "seconds": 900 if a[1] < b[1] else 1800}
        for a in ("F1", "F2", "F3", "F4")
        for b in ("F1", "F2", "F3", "F4")
        if a != b
    ]
    return PlantConfig.model_validate(
        {
            "plant": {
                "enterprise": "bench",
                "site": "aps",
                "areas": [{"name": "a", "lines": [{"name": "l", "cells": [{"name": "c"}]}]}],
            },
            "database": {"url": db},
            "workstations": [
                {"id": f"{c.lower()}-{k}", "path": "a/l/c", "work_centre": c, "speed": speed}
                for c in CENTRES
                for k, speed in ((1, 1.0), (2, 0.8))
            ],
            "products": [{"code": p, "family": f} for p, f in PRODUCTS.items()] + [{"code": "BAR"}],
            "routings": routings,
            "planning": {
                "time_limit_s": limit,
                "workers": 2,
                "setups": setups,
                "frozen_horizon_s": frozen,
            },
        }
    )


def seed(cfg: PlantConfig, orders: int, now: datetime) -> Any:
    engine = make_engine(cfg.database.url)
    upgrade_head(engine)
    rnd = random.Random(2)
    with Session(engine) as s:
        sync_master_data(s, cfg)
        for k in range(orders):
            product = rnd.choice(list(PRODUCTS))
            due = now + timedelta(hours=rnd.uniform(8, 72))
            message = {
                "v": 1,
                "message_id": f"m{k}",
                "type": "order.release",
                "order": {
                    "erp_id": f"PO-{k}",
                    "product": product,
                    "quantity": rnd.choice((20, 50, 100)),
                    "due_at": due.isoformat(),
                    "priority": rnd.choice((0, 1, 4)),
                    "routing": f"RT-{product}",
                },
            }
            assert apply_erp_message(s, json.dumps(message)).outcome == "applied"
        stock = {
            "v": 1,
            "message_id": "stock-1",
            "type": "stock.snapshot",
            "at": now.isoformat(),
            "materials": [
                {
                    "material": "BAR",
                    "on_hand": 1500,
                    "receipts": [
                        {"at": (now + timedelta(hours=h)).isoformat(), "quantity": 2000}
                        for h in (12, 36)
                    ],
                }
            ],
        }
        apply_stock_message(s, json.dumps(stock))
        s.commit()
    return engine


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=50)
    ap.add_argument("--limit", type=float, default=5.0)
    ap.add_argument("--frozen", type=float, default=3600.0, help="frozen horizon, s")
    args = ap.parse_args()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = plant(f"sqlite:///{Path(tmp) / 'mes.db'}", args.limit, args.frozen)
        engine = seed(cfg, args.orders, now)
        service = PlanningService(cfg, engine, clock=lambda: now)

        t = time.perf_counter()
        with Session(engine) as s:
            problem = build_problem(s, cfg, now)
        adapter_s = time.perf_counter() - t
        ops = sum(len(o.operations) for o in problem.orders)

        t = time.perf_counter()
        baseline = plan(problem, service.settings())
        baseline_s = time.perf_counter() - t

        t = time.perf_counter()
        first = service.replan("bench")
        first_s = time.perf_counter() - t

        with Session(engine) as s:
            s.add(DowntimeEvent(work_unit="mill-1", start=now, state="fault"))
            s.commit()
        t = time.perf_counter()
        second = service.replan("breakdown of mill-1")
        second_s = time.perf_counter() - t
        diff = json.loads(second.diff_json)
        with Session(engine) as s:
            on_mill = sum(1 for x in store.slots_of(s, first.id) if x.workstation == "mill-1")
        engine.dispose()

    print(
        f"{args.orders} orders, {ops} operations, 10 workstations, limit {args.limit:g} s,"
        f" frozen horizon {args.frozen:g} s"
    )
    print(f"adapter (database -> problem): {adapter_s * 1000:.0f} ms")
    print(f"baseline plan() in memory: {baseline_s:.2f} s ({baseline.method})")
    print(
        f"first replan through the service: {first_s:.2f} s = {first_s / baseline_s:.2f}x"
        f" baseline ({first.method}, on time {first.on_time_rate:.0%})"
    )
    print(
        f"replan after a breakdown of mill-1 (warm start): {second_s:.2f} s ="
        f" {second_s / baseline_s:.2f}x baseline ({second.method}); moved {len(diff['moved'])},"
        f" kept {diff['kept']} of {diff['kept'] + len(diff['moved'])}"
        f" ({on_mill} operations were on mill-1)"
    )
    print(f"  solver stages: {second.solver_status}")


if __name__ == "__main__":
    main()
