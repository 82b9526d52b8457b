"""Supervisor board benchmark (issue 14 item 9, the board's part). Each figure comes with its
baseline from the same run.

1. build: one rebuild of the board (`mes.board.snapshot.board`, what the change feed does per
   burst of commits) with `--orders` open work orders on `--stations` workstations, p50/p95;
   baseline: a bare read of the same open orders and their operations.
2. live: `--stations` scanners (one thread each, a station token each) report QTY:1 every
   `--every-ms` for `--seconds`, first with no board open (baseline), then with `--boards`
   board streams open. Printed: the scans' round trip p50/p95 in both phases (what an open board
   costs the shop floor), and with boards open, the delay from a scan's answer to the board's
   tile showing it (p50/p95) and the rebuilds made.

    .venv/bin/python bench/board.py [--stations 20] [--orders 500] [--seconds 15] [--boards 5]
"""

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from mes.board.snapshot import board  # noqa: E402
from mes.orders.models import Operation, WorkOrder  # noqa: E402
from tests.board.support import serve  # noqa: E402
from tests.mes.orders_support import intake, release_message  # noqa: E402
from tests.mes.scan_harness import multi_station_plant  # noqa: E402
from tests.services.mosquitto import Mosquitto  # noqa: E402


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))] if xs else float("nan")


def timed(fn: Any, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def scan(client: httpx.Client, base: str, token: str, station: str, code: str) -> float:
    t0 = time.perf_counter()
    r = client.post(
        f"{base}/api/v1/scans",
        json={"station": station, "code": code, "event_id": str(uuid.uuid4())},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    return time.perf_counter() - t0


def scanners(
    base: str, tokens: dict[str, str], seconds: float, every_s: float, done: dict[str, list[Any]]
) -> None:
    """Each station reports QTY:1 every `every_s`; `done[station]` gets (answered at, good)."""

    def run(station: str, token: str) -> None:
        with httpx.Client(timeout=30) as client:
            good = int(done[station][-1][1]) if done[station] else 0
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                rtt = scan(client, base, token, station, "QTY:1")
                good += 1
                done[station].append((time.monotonic(), good, rtt))
                time.sleep(every_s)

    threads = [threading.Thread(target=run, args=(s, t)) for s, t in tokens.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stations", type=int, default=20)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--every-ms", type=float, default=200)
    parser.add_argument("--boards", type=int, default=5)
    parser.add_argument("--builds", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-board-"))
    broker = Mosquitto(work / "mqtt").start()
    try:
        db = f"sqlite:///{work / 'mes.db'}"
        cfg = multi_station_plant(db, broker.url, args.stations, debounce_s=0.0)
        with serve(cfg) as (base, engine, app):
            admin = httpx.post(
                f"{base}/api/v1/auth/login",
                json={"username": "admin", "password": "admin-secret-1"},
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {admin}"}
            numbers = []
            for i in range(args.orders):
                msg = release_message(f"PO-{i}", 10_000, routing="RT-MULTI", components=[])
                result = intake(engine, msg)
                numbers.append(result.work_order)
            tokens = {}
            for i, w in enumerate(cfg.workstations):
                httpx.post(
                    f"{base}/api/v1/operators",
                    json={"badge": f"E{i}", "name": f"Op {i}"},
                    headers=auth,
                )
                tok = httpx.post(f"{base}/api/v1/stations/{w.id}/enrol", headers=auth).json()
                tokens[w.id] = tok["access_token"]
                with httpx.Client() as c:
                    for code in (f"EMP:E{i}", f"WO:{numbers[i]}/0010", "CMD:START"):
                        scan(c, base, tokens[w.id], w.id, code)
            services = app.state.services

            def build() -> None:
                with Session(engine) as s:
                    board(s, cfg, services.performance.units)

            def bare() -> None:
                with Session(engine) as s:
                    wos = s.exec(
                        select(WorkOrder).where(col(WorkOrder.status).in_(("RELEASED", "RUNNING")))
                    ).all()
                    ids = [w.id for w in wos]
                    s.exec(select(Operation).where(col(Operation.work_order_id).in_(ids))).all()

            built, base_read = timed(build, args.builds), timed(bare, args.builds)
            out: dict[str, Any] = {
                "stations": args.stations,
                "open_orders": args.orders,
                "build_ms_p50": round(pct(built, 50), 1),
                "build_ms_p95": round(pct(built, 95), 1),
                "bare_read_ms_p50": round(pct(base_read, 50), 1),
                "build_over_bare_read": round(pct(built, 50) / pct(base_read, 50), 1),
            }
            every = args.every_ms / 1000
            quiet: dict[str, list[Any]] = {s: [] for s in tokens}
            scanners(base, tokens, args.seconds, every, quiet)
            rtt0 = [r for rows in quiet.values() for _, _, r in rows]
            # the same load with boards open: when does each tile show each scan?
            seen: dict[str, list[tuple[float, int]]] = {s: [] for s in tokens}
            stop = threading.Event()

            def watch(record: bool) -> None:
                with httpx.stream(
                    "GET", f"{base}/api/v1/board/stream", headers=auth, timeout=None
                ) as r:
                    for line in r.iter_lines():
                        if stop.is_set():
                            return
                        if record and line.startswith("data:"):
                            body = json.loads(line[5:])
                            tiles = body.get("tiles", [])
                            tiles = tiles.get("upsert", []) if isinstance(tiles, dict) else tiles
                            now = time.monotonic()
                            for t in tiles:
                                if t["job"]:
                                    seen[t["station"]].append((now, t["job"]["good"]))

            watchers = [
                threading.Thread(target=watch, args=(i == 0,), daemon=True)
                for i in range(args.boards)
            ]
            for w in watchers:
                w.start()
            time.sleep(1)
            builds0 = services.board.builds
            busy: dict[str, list[Any]] = {s: list(quiet[s][-1:]) for s in tokens}
            scanners(base, tokens, args.seconds, every, busy)
            time.sleep(2)
            stop.set()
            rtt1 = [r for rows in busy.values() for _, _, r in rows[1:]]
            delays = []
            for station, rows in busy.items():
                for answered, good, _ in rows[1:]:
                    shown = next((t for t, g in seen[station] if g >= good), None)
                    if shown is not None:
                        delays.append(max(0.0, shown - answered) * 1000)
            out.update(
                {
                    "scans_per_s_no_board": round(len(rtt0) / args.seconds, 1),
                    "scans_per_s_boards_open": round(len(rtt1) / args.seconds, 1),
                    "scan_rtt_ms_p50_no_board": round(pct(rtt0, 50) * 1000, 1),
                    "scan_rtt_ms_p95_no_board": round(pct(rtt0, 95) * 1000, 1),
                    "scan_rtt_ms_p50_boards_open": round(pct(rtt1, 50) * 1000, 1),
                    "scan_rtt_ms_p95_boards_open": round(pct(rtt1, 95) * 1000, 1),
                    "rtt_p95_ratio": round(pct(rtt1, 95) / pct(rtt0, 95), 2),
                    "scan_to_tile_ms_p50": round(statistics.median(delays), 1) if delays else None,
                    "scan_to_tile_ms_p95": round(pct(delays, 95), 1) if delays else None,
                    "scans_shown": f"{len(delays)}/{len(rtt1)}",
                    "rebuilds": services.board.builds - builds0,
                    "boards": args.boards,
                }
            )
            print(json.dumps(out, indent=1))
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
