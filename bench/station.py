"""The station page in Debian's chromium: first-load size, time to interactive, scan-to-answer,
idle and while 20 scanners load the MES.

The MES runs in its own process (uvicorn, as `bench/mes_scans.py` starts it, SQLite), with
`--load` stations ws-001.. for the load and one more for the page. The page is opened headless
and measured:
- first load: every file the page fetched on a cold load (HTML, CSS, modules, catalogue), raw
  and gzip-compressed (what a compressing proxy sends; the MES itself sends them raw);
- time to interactive: navigation start to the page's `station-ready` mark (scanner listening,
  texts loaded, state, queue and machine stop drawn), median of --loads cold loads;
- scan-to-answer: from the scanner's terminating Enter to the answer drawn, over --scans QTY:1
  scans on a running job, p50 / p95 / max: first with the MES idle (the same-run baseline),
  then while --load scanners (mes_scans' lean keep-alive clients, in a thread of this process)
  each scan their own job (badge, work order, start, then QTY:1 back to back) as fast as the
  MES answers; their throughput and p95 are printed too.

    .venv/bin/python bench/station.py
    .venv/bin/python bench/station.py --load 20 --scans 200 --loads 9
"""

import argparse
import asyncio
import gzip
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
import mes_scans  # noqa: E402

from tests.mes.browser_support import ARGS, CHROMIUM  # noqa: E402
from tests.services.mosquitto import Mosquitto  # noqa: E402
from tests.services.ports import free_port, wait_for  # noqa: E402

WATCH = """() => {
  window.__enter = []; window.__answer = [];
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') window.__enter.push(performance.now()); }, true);
  const a = document.getElementById('answer');
  new MutationObserver(() => {
    if (['ok', 'refused', 'ignored'].includes(a.className)) window.__answer.push(performance.now());
  }).observe(a, { childList: true, characterData: true, subtree: true, attributes: true });
}"""


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


class Load:
    """`n` scanners on stations ws-001.., each on its own work order, until stopped."""

    def __init__(self, port: int, tokens: list[str], orders: list[str]) -> None:
        self.port, self.tokens, self.orders = port, tokens, orders
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self.started = self.ended = 0.0

    async def _station(self, i: int) -> None:
        name = f"ws-{i + 1:03d}"
        conn = mes_scans.Connection(self.port, self.tokens[i])
        codes = iter(["EMP:E1", f"WO:{self.orders[i]}", "CMD:START"])
        try:
            while not self._stop.is_set():
                code = next(codes, "QTY:1")
                body = {
                    "station": name,
                    "code": code,
                    "event_id": str(uuid.uuid4()),
                    "scanned_at": datetime.now(UTC).isoformat(),
                }
                start = time.perf_counter()
                status, answer = await conn.post(json.dumps(body).encode())
                if code == "QTY:1":
                    self.latencies.append(time.perf_counter() - start)
                if status != 200:
                    self.errors.append(f"{name} {code}: {status} {answer[:200]!r}")
                    return
        finally:
            conn.close()

    async def _run(self) -> None:
        self.started = time.perf_counter()
        await asyncio.gather(*(self._station(i) for i in range(len(self.tokens))))
        self.ended = time.perf_counter()

    def __enter__(self) -> "Load":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(60)

    def figures(self) -> dict[str, Any]:
        lat = self.latencies
        return {
            "load_scanners": len(self.tokens),
            "load_scans_per_s": round(len(lat) / max(1e-9, self.ended - self.started), 1),
            "load_p95_ms": round(pct(lat, 95) * 1000, 1) if lat else None,
            "load_errors": self.errors[:3],
        }


def first_load(browser: Any, base: str, station: str, token: str, loads: int) -> dict[str, Any]:
    urls: list[str] = []
    ready: list[float] = []
    for i in range(loads):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        if i == 0:
            page.on("response", lambda r: urls.append(r.url))
        page.goto(f"{base}/station/{station}#token={token}")
        page.wait_for_selector("body[data-ready='1']")
        ready.append(
            page.evaluate("() => performance.getEntriesByName('station-ready')[0].startTime")
        )
        context.close()
    shell = sorted({u.split("#")[0] for u in urls if "/api/" not in u})
    raw = gz = 0
    for u in shell:
        body = httpx.get(u).content
        raw += len(body)
        gz += len(gzip.compress(body, 6))
    return {
        "first_load_files": len(shell),
        "first_load_raw_kb": round(raw / 1024, 1),
        "first_load_gzip_kb": round(gz / 1024, 1),
        "tti_ms_median": round(statistics.median(ready), 1),
        "tti_ms_max": round(max(ready), 1),
    }


def scan_to_answer(page: Any, codes: list[str]) -> list[float]:
    page.evaluate("() => { window.__enter = []; window.__answer = []; }")
    for code in codes:
        n = page.evaluate("() => window.__answer.length")
        page.keyboard.type(code, delay=4)
        page.keyboard.press("Enter")
        try:
            page.wait_for_function(f"() => window.__answer.length > {n}", timeout=60_000)
        except Exception as e:
            shown = page.evaluate("() => [answer.className, answer.textContent]")
            raise SystemExit(f"no answer to {code}: the page shows {shown}") from e
    enter = page.evaluate("() => window.__enter")
    answer = page.evaluate("() => window.__answer")
    return [a - e for e, a in zip(enter, answer, strict=True)]


def summary(lat: list[float]) -> dict[str, float]:
    return {
        "p50": round(pct(lat, 50), 1),
        "p95": round(pct(lat, 95), 1),
        "max": round(max(lat), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scans", type=int, default=100, help="page scans per phase")
    parser.add_argument("--loads", type=int, default=5, help="cold loads for time to interactive")
    parser.add_argument("--load", type=int, default=20, help="scanners loading the MES")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-station-"))
    broker = Mosquitto(work / "mq").start()
    mes = None
    try:
        db_url = f"sqlite:///{work}/mes.db"
        stations = args.load + 1  # the last one is the page's
        cfg_file = work / "plant.json"
        cfg_file.write_text(json.dumps(mes_scans.plant(db_url, broker.url, stations)))
        mes_scans.migrate(db_url)
        port = free_port()
        mes = mes_scans.start_server(["--serve", str(cfg_file), str(port), "1"], port)
        base = f"http://127.0.0.1:{port}"
        tokens = asyncio.run(mes_scans.setup(base, stations))
        orders = mes_scans.release_orders(db_url, stations, 1_000_000)
        page_station, page_token, page_order = f"ws-{stations:03d}", tokens[-1], orders[-1]
        from playwright.sync_api import sync_playwright

        out: dict[str, Any] = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            out.update(first_load(browser, base, page_station, page_token, args.loads))
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.add_init_script("localStorage.setItem('sf.scanner', '{\"maxGapMs\": 220}')")
            page = context.new_page()
            page.goto(f"{base}/station/{page_station}#token={page_token}")
            page.wait_for_selector("body[data-ready='1']")
            page.evaluate(WATCH)
            scan_to_answer(page, ["EMP:E1", f"WO:{page_order}", "CMD:START"])
            idle = scan_to_answer(page, ["QTY:1"] * args.scans)
            out["scan_to_answer_idle_ms"] = summary(idle)
            if args.load:
                with Load(port, tokens[:-1], orders[:-1]) as load:
                    wait_for(lambda: len(load.latencies) >= 10 * args.load, 60, "load")
                    loaded = scan_to_answer(page, ["QTY:1"] * args.scans)
                out["scan_to_answer_loaded_ms"] = summary(loaded)
                out["p95_ratio_loaded_to_idle"] = round(pct(loaded, 95) / pct(idle, 95), 2)
                out.update(load.figures())
            browser.close()
        print(json.dumps(out))
    finally:
        if mes is not None:
            mes_scans.stop(mes)
        broker.stop()


if __name__ == "__main__":
    main()
