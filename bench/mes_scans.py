"""Scan throughput and latency of the MES over real HTTP, against a trivial FastAPI baseline.

N concurrent clients, each a workstation with its own work order, scan realistic sequences
(badge, work order, start, QTY:1 x K, complete) against a real uvicorn server in its own
process. The clients run in the bench process on a lean keep-alive HTTP/1.1 client (asyncio
streams), so that the load generator costs little of the 2 cores; each line prints the server's
and the client's CPU per request. The same client load is sent to a trivial FastAPI endpoint
(same request body) in the same run; the ratio says what the MES costs on top of the web stack.

    .venv/bin/python bench/mes_scans.py                      # SQLite and PostgreSQL
    .venv/bin/python bench/mes_scans.py --db sqlite --clients 20 --scans 40
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

ADMIN_PASSWORD = "bench-admin-pw"


def plant(
    db_url: str, broker_url: str, clients: int, lanes: int = 1, delay_ms: float | None = None
) -> dict[str, Any]:
    return {
        "version": 1,
        "plant": {
            "enterprise": "acme",
            "site": "bench",
            "areas": [{"name": "a", "lines": [{"name": "l", "cells": [{"name": "c"}]}]}],
        },
        "database": {"url": db_url},
        "broker": {"url": broker_url},
        # one shift end, 12 h away: a shift-end logout in the middle of a run would refuse the
        # next scans, and the shift calendar needs at least one end (none fails at startup)
        "mes": {
            "debounce_s": 2.0,
            "bootstrap_admin_password": ADMIN_PASSWORD,
            "shifts": {"ends": [(datetime.now(UTC) + timedelta(hours=12)).strftime("%H:%M")]},
            "scan_writer_lanes": lanes,
            "scan_group_delay_ms": delay_ms,
            "security": {"metrics": "open"},  # read below without a token
        },
        "workstations": [
            {"id": f"ws-{i:03d}", "path": "a/l/c", "work_centre": "PRESS"}
            for i in range(1, clients + 1)
        ],
        "products": [{"code": "BRKT-200"}],
        "routings": [
            {
                "id": "RT-BENCH",
                "product": "BRKT-200",
                "operations": [
                    {"number": "0010", "name": "Press", "work_centre": "PRESS", "cycle_time_s": 1}
                ],
            }
        ],
    }


# --- server processes -------------------------------------------------------------------


def mes_app() -> Any:
    """uvicorn factory: the MES app for the plant in $BENCH_MES_CONFIG."""
    from config.plant import PlantConfig
    from mes.app import create_app
    from mes.runtime import MesRuntime

    cfg = PlantConfig.model_validate(json.loads(Path(os.environ["BENCH_MES_CONFIG"]).read_text()))
    return create_app(MesRuntime(cfg, replica=f"bench-{os.getpid()}"))


def serve_mes(config_file: str, port: int, workers: int) -> None:
    import uvicorn

    os.environ["BENCH_MES_CONFIG"] = config_file
    uvicorn.run(
        "mes_scans:mes_app",
        factory=True,
        app_dir=str(ROOT / "bench"),
        workers=workers,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )


def serve_trivial(port: int) -> None:
    import uvicorn
    from fastapi import FastAPI
    from pydantic import BaseModel

    class Body(BaseModel):
        station: str
        code: str
        event_id: str
        scanned_at: datetime | None = None

    app = FastAPI()

    @app.post("/api/v1/scans")
    async def scan(body: Body) -> dict[str, Any]:
        return {"accepted": True, "action": "noop", "message": body.code, "station_state": {}}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def start_server(args: list[str], port: int) -> subprocess.Popen[bytes]:
    from tests.services.ports import port_open, wait_for

    proc = subprocess.Popen([sys.executable, __file__, *args], cwd=ROOT)
    wait_for(lambda: port_open(port) or proc.poll() is not None, 60, "server")
    if proc.poll() is not None:
        raise SystemExit(f"server {args} exited with {proc.returncode}")
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


# --- load -------------------------------------------------------------------------------


# --- a lean HTTP/1.1 client: keep-alive, pre-encoded headers. The load generator shares the
# 2 cores with the servers and must not be what is measured (httpx's per-request CPU was of the
# order of the trivial endpoint's own; the figures print both sides' CPU per request).


class Connection:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1 over asyncio streams."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.head = (
            f"POST /api/v1/scans HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(self.head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise SystemExit(f"answer without Content-Length: {head!r}")
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def drive(
    port: int, tokens: list[str], orders: list[str], scans: int
) -> tuple[float, list[tuple[str, float]]]:
    async def station(i: int) -> list[tuple[str, float]]:
        name = f"ws-{i + 1:03d}"
        conn = Connection(port, tokens[i])
        t0 = datetime.now(UTC)
        codes = [
            "EMP:E1",
            f"WO:{orders[i]}",
            "CMD:START",
            *["QTY:1"] * scans,
            "CMD:COMPLETE",
            "CMD:LOGOUT",
        ]
        latencies: list[tuple[str, float]] = []
        try:
            for k, code in enumerate(codes):
                body = {
                    "station": name,
                    "code": code,
                    "event_id": str(uuid.uuid4()),
                    "scanned_at": (t0 + timedelta(seconds=3 * k)).isoformat(),
                }
                data = json.dumps(body).encode()
                start = time.perf_counter()
                status, answer = await conn.post(data)
                latencies.append((_kind(code), time.perf_counter() - start))
                if status != 200:
                    raise SystemExit(f"{name} {code}: {status} {answer.decode()}")
        finally:
            conn.close()
        return latencies

    start = time.perf_counter()
    per = await asyncio.gather(*(station(i) for i in range(len(tokens))))
    elapsed = time.perf_counter() - start
    return elapsed, [x for p in per for x in p]


def _kind(code: str) -> str:
    """QTY, EMP, WO or the command: latencies are also reported per kind of scan."""
    return code.split(":", 1)[1] if code.startswith("CMD:") else code.split(":", 1)[0]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a server process and its children (uvicorn workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    while pids:
        p = pids.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                pids.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def measured(
    port: int, pid: int, tokens: list[str], orders: list[str], scans: int
) -> dict[str, float]:
    """Figures of one load run, with the server's CPU per request and the client's CPU."""
    server0, client0 = cpu_seconds(pid), time.process_time()
    elapsed, latencies = asyncio.run(drive(port, tokens, orders, scans))
    out = figures(elapsed, [x for _, x in latencies])
    for kind in sorted({k for k, _ in latencies}):
        ordered = sorted(x for k, x in latencies if k == kind)
        out[f"kind:{kind}"] = _p99(ordered) * 1000
    out["server_cpu_ms"] = (cpu_seconds(pid) - server0) * 1000 / out["n"]
    out["client_cpu_ms"] = (time.process_time() - client0) * 1000 / out["n"]
    return out


def figures(elapsed: float, latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "per_s": len(ordered) / elapsed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": _p99(ordered) * 1000,
        "n": len(ordered),
    }


def _p99(ordered: list[float]) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def setup(base: str, clients: int) -> list[str]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        r = await client.post(
            "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
        await client.post("/api/v1/operators", json={"badge": "E1", "name": "Op"}, headers=admin)
        tokens = []
        for i in range(1, clients + 1):
            r = await client.post(f"/api/v1/stations/ws-{i:03d}/enrol", headers=admin)
            tokens.append(r.json()["access_token"])
        return tokens


def writer_metrics(base: str) -> dict[str, float]:
    """The scan writer's counters from the MES /metrics."""
    text = httpx.get(f"{base}/metrics", timeout=10).text
    values = dict(line.split() for line in text.splitlines() if not line.startswith("#"))
    return {
        "requests": float(values["shopfloor_mes_scan_requests_total"]),
        "batches": float(values["shopfloor_mes_scan_batches_total"]),
        "cpu": float(values["shopfloor_mes_scan_writer_cpu_seconds_total"]),
    }


def migrate(db_url: str) -> None:
    from mes.core.db import make_engine
    from mes.migrations.run import upgrade_head

    engine = make_engine(db_url)
    upgrade_head(engine)
    engine.dispose()


def release_orders(db_url: str, clients: int, scans: int, round_: int = 0) -> list[str]:
    from sqlmodel import Session

    from mes.core.db import make_engine
    from mes.orders.intake import apply_erp_message

    engine = make_engine(db_url)
    orders = []
    with Session(engine) as session:
        for i in range(clients):
            message = {
                "v": 1,
                "message_id": uuid.uuid4().hex,
                "type": "order.release",
                "order": {
                    "erp_id": f"PO-B{round_}-{i:04d}",
                    "product": "BRKT-200",
                    "quantity": scans,
                    "routing": "RT-BENCH",
                },
            }
            result = apply_erp_message(session, json.dumps(message))
            assert result.work_order is not None, result
            orders.append(result.work_order)
        session.commit()
    engine.dispose()
    return orders


def run_one(
    db: str,
    clients: int,
    scans: int,
    work: Path,
    workers: int,
    n_rounds: int,
    lanes: int,
    delay_ms: float | None,
) -> list[dict[str, dict[str, float]]]:
    from tests.services.mosquitto import Mosquitto
    from tests.services.ports import free_port

    broker = Mosquitto(work / f"mq-{db}").start()
    pg = None
    try:
        if db == "sqlite":
            db_url = f"sqlite:///{work}/mes-{db}.db"
        else:
            from tests.services.postgres import Postgres

            pg = Postgres(work / "pg")
            db_url = pg.create_database()
        cfg_file = work / f"plant-{db}.json"
        cfg_file.write_text(json.dumps(plant(db_url, broker.url, clients, lanes, delay_ms)))
        migrate(db_url)  # once, before the replicas start
        trivial_port, mes_port = free_port(), free_port()
        trivial = start_server(["--serve-trivial", str(trivial_port)], trivial_port)
        mes = start_server(["--serve", str(cfg_file), str(mes_port), str(workers)], mes_port)
        rounds: list[dict[str, dict[str, float]]] = []
        try:
            mes_base = f"http://127.0.0.1:{mes_port}"
            dummy = ["x"] * clients
            asyncio.run(drive(trivial_port, dummy, dummy, 5))  # warm-up
            tokens = asyncio.run(setup(mes_base, clients))
            # Paired rounds, back to back, so that both sides see the same machine load.
            for r in range(n_rounds):
                out = {"trivial": measured(trivial_port, trivial.pid, dummy, dummy, scans)}
                orders = release_orders(db_url, clients, scans, r)
                writer0 = writer_metrics(mes_base)
                out["mes"] = measured(mes_port, mes.pid, tokens, orders, scans)
                writer1 = writer_metrics(mes_base)
                done = writer1["requests"] - writer0["requests"]
                if done and workers == 1:  # /metrics answers for one process
                    out["mes"]["writer_cpu_ms"] = (writer1["cpu"] - writer0["cpu"]) * 1000 / done
                    out["mes"]["batch"] = done / max(1, writer1["batches"] - writer0["batches"])
                rounds.append(out)
        finally:
            stop(mes)
            stop(trivial)
        if pg is not None:
            pg.drop_database(db_url)
        return rounds
    finally:
        broker.stop()
        if pg is not None:
            pg.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--scans", type=int, default=40, help="QTY:1 scans per client")
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn worker processes (MES replicas)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="paired rounds (median ratio)")
    parser.add_argument(
        "--lanes", type=int, default=1, help="PostgreSQL: scan writer lanes (mes.scan_writer_lanes)"
    )
    parser.add_argument(
        "--group-delay-ms", type=float, help="mes.scan_group_delay_ms (default: the MES's)"
    )
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--serve-trivial", metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_mes(args.serve[0], int(args.serve[1]), int(args.serve[2]))
        return
    if args.serve_trivial:
        serve_trivial(int(args.serve_trivial))
        return
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(
        f"mes_scans: {args.clients} clients x ({args.scans} QTY + 5) scans, {args.rounds} rounds, "
        f"cpus={os.cpu_count()}, python {sys.version.split()[0]}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for db in dbs:
            workers = args.workers
            rounds = run_one(
                db,
                args.clients,
                args.scans,
                Path(tmp),
                workers,
                args.rounds,
                args.lanes,
                args.group_delay_ms,
            )
            label = f"MES scans ({db}, {workers} worker{'s' if workers > 1 else ''})"
            for r, res in enumerate(rounds, 1):
                for name, f in (
                    (f"round {r} trivial FastAPI", res["trivial"]),
                    (label, res["mes"]),
                ):
                    print(
                        f"  {name:34s} {f['per_s']:6.0f} req/s  p50 {f['p50_ms']:6.1f} ms  "
                        f"p99 {f['p99_ms']:6.1f} ms  (n={int(f['n'])}; CPU/request "
                        f"server {f['server_cpu_ms']:.2f} ms, client {f['client_cpu_ms']:.2f} ms)"
                    )
                    kinds = [(k[5:], v) for k, v in f.items() if k.startswith("kind:")]
                    if name == label and kinds:
                        print(
                            f"  {'':34s} p99 by scan: "
                            + ", ".join(f"{k} {v:.1f} ms" for k, v in kinds)
                        )
                    if "writer_cpu_ms" in f:
                        print(
                            f"  {'':34s} scan writer: {f['writer_cpu_ms']:.2f} ms CPU per scan, "
                            f"{f['batch']:.1f} scans per group commit"
                        )
            ratios = [res["mes"]["per_s"] / res["trivial"]["per_s"] for res in rounds]
            best = max(res["mes"]["per_s"] for res in rounds)
            p99 = statistics.median(res["mes"]["p99_ms"] for res in rounds)
            print(
                f"  {db}: ratio MES/trivial median {statistics.median(ratios):.2f} "
                f"(rounds: {', '.join(f'{x:.2f}' for x in ratios)}); "
                f"best {best:.0f} scans/s; median p99 {p99:.0f} ms"
            )


if __name__ == "__main__":
    main()
