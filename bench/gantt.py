"""The board's Gantt: what `GET /api/v1/schedule/gantt` costs to build (the current plan's bars
with the workstations able to run each operation, the locks, the closed time and breakdowns),
against building the plain plan answer (`GET /api/v1/schedule`) from the same stored plan in the
same run; and what naming the current plan adds to a board rebuild.

    .venv/bin/python bench/gantt.py [--orders 250] [--limit 5] [--repeat 20]

The plant and orders of bench/aps_mes.py (10 workstations in 5 work centres, 4 operations per
order; SQLite), one plan made by the planning service with a rule (`--limit` for CP-SAT), then
each answer built `--repeat` times; CPU seconds per answer (`time.process_time`).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from aps_mes import plant, seed
from sqlmodel import Session

from mes.planning.gantt import gantt
from mes.planning.routes import _plan_out
from mes.planning.service import PlanningService
from mes.planning.store import board_plan, current


def cpu_per_call(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm the caches of the database and the ORM
    t = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - t) / repeat


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=250)
    ap.add_argument("--limit", type=float, default=5.0)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = plant(f"sqlite:///{Path(tmp) / 'mes.db'}", args.limit, 0.0)
        engine = seed(cfg, args.orders, now)
        record = PlanningService(cfg, engine, clock=lambda: now).replan("bench")
        with Session(engine) as s:
            last = current(s)
            assert last is not None
            plain = cpu_per_call(lambda: _plan_out(s, last), args.repeat)
            chart = gantt(s, cfg, now)
            drawn = cpu_per_call(lambda: gantt(s, cfg, now), args.repeat)
            named = cpu_per_call(lambda: board_plan(s), args.repeat * 10)
        engine.dispose()
    print(
        f"{args.orders} orders, {len(chart.bars)} bars, {len(chart.windows)} windows,"
        f" 10 workstations (plan {record.method})"
    )
    print(f"baseline GET /api/v1/schedule answer: {plain * 1000:.1f} ms CPU")
    print(f"GET /api/v1/schedule/gantt answer: {drawn * 1000:.1f} ms CPU = {drawn / plain:.2f}x")
    print(f"the board naming the current plan (per rebuild): {named * 1000:.2f} ms CPU")


if __name__ == "__main__":
    main()
