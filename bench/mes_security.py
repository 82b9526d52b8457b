"""MES request-security benchmark (issue 18): what one hostile client can do to `mes serve`.

1. One 16.8 MB JSON login body with a million keys: answer time, status and size, the MES's
   RSS before and at its peak, and the worst `/healthz` latency while it is being handled.
2. 100 wrong passwords for one user as fast as one client can send them: passwords actually
   checked per second, how many were refused with 429, and whether the right one still works.
3. 100 connections that send half a request head and then nothing: how many are still open
   after `--slow-wait` seconds.
4. Scan latency (QTY:1 at one station, median and p95) alone, then while 4 clients flood
   `/auth/login` with wrong passwords from 100 loopback addresses (127.0.1.x) and invented user
   names, so that the per-name and per-address backoff lets many through: what is left is the
   bound on password-hashing threads.

Runs `python -m mes.cli mes serve` from `--tree` (default: this checkout) as its own process,
against a private Mosquitto, so the same script measures an older checkout too:

    .venv/bin/python bench/mes_security.py [--tree DIR] [--slow-wait 20]
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.services.mosquitto import Mosquitto  # noqa: E402
from tests.services.ports import free_port, port_open, wait_for  # noqa: E402

ADMIN_PASSWORD = "admin-secret-1"


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process in MB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def serve(tree: Path, workdir: Path, broker_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    data = yaml.safe_load((ROOT / "config" / "plant.yaml").read_text())
    data.pop("devices", None)
    data.pop("alarms", None)
    data["database"] = {"url": f"sqlite:///{workdir}/mes.db"}
    data["broker"] = {"url": broker_url}
    data["mes"]["port"] = port
    config = workdir / "plant.yaml"
    config.write_text(yaml.safe_dump(data))
    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "SHOPFLOOR_MES__BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    log = (workdir / "mes.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mes.cli",
            "mes",
            "serve",
            "-c",
            str(config),
            "--log-level",
            "warning",
        ],
        cwd=tree,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if proc.poll() is not None:
            raise SystemExit(f"mes serve exited with {proc.returncode}; see {workdir}/mes.log")
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(ready, 90, "mes serve")
    return proc, base


def oversized_login(proc: subprocess.Popen[bytes], base: str) -> None:
    body = json.dumps({f"key{i:07d}": 0 for i in range(1_000_000)}).encode()
    rss_before, _ = rss_mb(proc.pid)
    worst = [0.0]
    done = threading.Event()

    def probe() -> None:
        with httpx.Client(timeout=60) as c:
            while not done.is_set():
                t0 = time.perf_counter()
                c.get(f"{base}/healthz")
                worst[0] = max(worst[0], time.perf_counter() - t0)
                time.sleep(0.05)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    t0 = time.perf_counter()
    r = httpx.post(
        f"{base}/api/v1/auth/login",
        content=body,
        headers={"content-type": "application/json"},
        timeout=120,
    )
    took = time.perf_counter() - t0
    done.set()
    prober.join(60)
    rss_after, peak = rss_mb(proc.pid)
    print(
        f"oversized login: {len(body) / 1e6:.1f} MB body -> {r.status_code} in {took:.2f} s, "
        f"answer {len(r.content) / 1e6:.2f} MB; RSS {rss_before:.0f} -> {rss_after:.0f} MB "
        f"(peak {peak:.0f} MB); worst /healthz {worst[0] * 1000:.0f} ms"
    )


def guesses(base: str) -> None:
    codes: dict[int, int] = {}
    with httpx.Client(timeout=30) as c:
        t0 = time.perf_counter()
        for i in range(100):
            r = c.post(
                f"{base}/api/v1/auth/login", json={"username": "admin", "password": f"guess-{i}"}
            )
            codes[r.status_code] = codes.get(r.status_code, 0) + 1
        took = time.perf_counter() - t0
        right = c.post(
            f"{base}/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
    checked = codes.get(401, 0)
    print(
        f"login guesses: 100 in {took:.1f} s, answers {dict(sorted(codes.items()))}; "
        f"passwords checked {checked / took:.1f}/s; right password afterwards -> "
        f"{right.status_code}"
        + (f" (Retry-After {right.headers.get('retry-after')})" if right.status_code == 429 else "")
    )


def slow_heads(base: str, wait_s: float) -> None:
    port = int(base.rsplit(":", 1)[1])
    conns = []
    for _ in range(100):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        conns.append(s)
    time.sleep(wait_s)  # observation window, not synchronisation
    still_open = 0
    for s in conns:
        s.settimeout(0.01)
        try:
            s.recv(1)  # a 408 or the end of the stream: the server let go of it
        except TimeoutError:
            still_open += 1
        except OSError:
            pass
        s.close()
    print(f"slow heads: {still_open} of 100 connections still open after {wait_s:.0f} s")


def scan_latency(base: str, flood_s: float) -> None:
    with httpx.Client(base_url=base, timeout=30) as c:
        r = c.post("/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
        erp = c.post("/api/v1/tokens", json={"name": "erp-bench", "role": "erp"}, headers=admin)
        c.post("/api/v1/operators", json={"badge": "E1", "name": "Bench"}, headers=admin)
        station = c.post("/api/v1/stations/ws-10/enrol", headers=admin).json()["access_token"]
        order = {
            "v": 1,
            "message_id": uuid.uuid4().hex,
            "type": "order.release",
            "order": {
                "erp_id": "PO-BENCH",
                "product": "BRKT-200",
                "quantity": 1_000_000,
                "unit": "pcs",
                "due_at": "2026-12-31T16:00:00Z",
                "routing": "RT-BRKT-200",
            },
        }
        erp_auth = {"Authorization": f"Bearer {erp.json()['access_token']}"}
        wo = c.post("/api/v1/erp/orders", json=order, headers=erp_auth).json()["work_order"]
        auth = {"Authorization": f"Bearer {station}"}

        def scan(code: str) -> float:
            t0 = time.perf_counter()
            body = {"station": "ws-10", "code": code, "event_id": uuid.uuid4().hex}
            r = c.post("/api/v1/scans", json=body, headers=auth)
            assert r.status_code == 200, r.text
            return time.perf_counter() - t0

        for code in ("EMP:E1", f"WO:{wo}/0010", "CMD:START"):
            scan(code)

        def measure(seconds: float) -> list[float]:
            out = []
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                out.append(scan("QTY:1"))
                time.sleep(0.02)  # a busy station, not a load test
            return out

        stop = threading.Event()
        answers: dict[int, int] = {}

        # made before measuring: each client builds an SSL context, which costs CPU
        pools = [
            [
                httpx.Client(
                    base_url=base,
                    timeout=60,
                    transport=httpx.HTTPTransport(local_address=f"127.0.1.{a}"),
                )
                for a in range(n * 25 + 1, n * 25 + 26)
            ]
            for n in range(4)
        ]

        def flood(n: int) -> None:
            clients = pools[n]
            i = 0
            while not stop.is_set():
                client = clients[i % len(clients)]
                body = {"username": f"u{n}-{i}", "password": "wrong-password-1"}
                code = client.post("/api/v1/auth/login", json=body).status_code
                answers[code] = answers.get(code, 0) + 1
                i += 1

        quiet = measure(flood_s)
        flooders = [threading.Thread(target=flood, args=(n,), daemon=True) for n in range(4)]
        for t in flooders:
            t.start()
        t0 = time.perf_counter()
        loaded = measure(flood_s)
        took = time.perf_counter() - t0
        stop.set()
        for t in flooders:
            t.join(60)
        for pool in pools:
            for client in pool:
                client.close()

    def fmt(xs: list[float]) -> str:
        q = statistics.quantiles(xs, n=20)
        return f"median {statistics.median(xs) * 1000:.1f} ms, p95 {q[18] * 1000:.1f} ms"

    print(f"scans alone: {fmt(quiet)} ({len(quiet)} scans)")
    print(
        f"scans during a login flood: {fmt(loaded)} ({len(loaded)} scans); "
        f"login answers {dict(sorted(answers.items()))} "
        f"({answers.get(401, 0) / took:.1f} passwords checked/s)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", type=Path, default=ROOT, help="checkout whose MES to measure")
    ap.add_argument("--slow-wait", type=float, default=20.0)
    ap.add_argument("--flood", type=float, default=10.0, help="seconds of scans per phase")
    ap.add_argument("--parts", default="1234", help="which measurements, e.g. 4")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mes-security-") as tmp:
        work = Path(tmp)
        broker = Mosquitto(work / "broker").start()
        proc, base = serve(args.tree.resolve(), work, broker.url)
        try:
            print(f"MES from {args.tree}")
            parts = {
                "1": lambda: oversized_login(proc, base),
                "2": lambda: guesses(base),
                "3": lambda: slow_heads(base, args.slow_wait),
                "4": lambda: scan_latency(base, args.flood),
            }
            for part in args.parts:
                parts[part]()
        finally:
            proc.terminate()
            proc.wait(30)
            broker.stop()
            assert not port_open(int(base.rsplit(":", 1)[1]))


if __name__ == "__main__":
    main()
