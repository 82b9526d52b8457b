"""The station page in Debian's chromium: first-load size, time to interactive, scan-to-answer.

Starts Mosquitto and the MES (in this process, on a real socket), enrols ws-10, releases an
order, then opens the page headless and measures:
- first load: every file the page fetched on a cold load (HTML, CSS, modules, catalogue), raw
  and gzip-compressed (what a compressing proxy sends; the MES itself sends them raw);
- time to interactive: navigation start to the page's `station-ready` mark (scanner listening,
  texts loaded, state and queue drawn), median of --loads cold loads;
- scan-to-answer: from the scanner's terminating Enter to the answer drawn, over --scans QTY:1
  scans on a running job (debounce off), p50 / p95 / max.

    .venv/bin/python bench/station.py
    .venv/bin/python bench/station.py --scans 200 --loads 10
"""

import argparse
import gzip
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.mes.browser_support import ARGS, CHROMIUM  # noqa: E402
from tests.mes.orders_support import intake, release_message  # noqa: E402
from tests.mes.scan_harness import plant_config, served  # noqa: E402
from tests.services.mosquitto import Mosquitto  # noqa: E402

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


def measure(base: str, token: str, work_order: str, scans: int, loads: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        urls: list[str] = []
        ready: list[float] = []
        for i in range(loads):
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.add_init_script("localStorage.setItem('sf.scanner', '{\"maxGapMs\": 80}')")
            page = context.new_page()
            if i == 0:
                page.on("response", lambda r: urls.append(r.url))
            page.goto(f"{base}/station/ws-10#token={token}")
            page.wait_for_selector("body[data-ready='1']")
            ready.append(
                page.evaluate("() => performance.getEntriesByName('station-ready')[0].startTime")
            )
            if i < loads - 1:
                context.close()
        shell = sorted({u for u in urls if "/api/" not in u})
        raw = gz = 0
        for u in shell:
            body = httpx.get(u.split("#")[0]).content
            raw += len(body)
            gz += len(gzip.compress(body, 6))
        out["first_load_files"] = len(shell)
        out["first_load_raw_kb"] = round(raw / 1024, 1)
        out["first_load_gzip_kb"] = round(gz / 1024, 1)
        out["tti_ms_median"] = round(statistics.median(ready), 1)
        out["tti_ms_max"] = round(max(ready), 1)
        page.evaluate(WATCH)

        def scan(code: str) -> None:
            n = page.evaluate("() => window.__answer.length")
            page.keyboard.type(code, delay=4)
            page.keyboard.press("Enter")
            page.wait_for_function(f"() => window.__answer.length > {n}")

        for code in ("EMP:E1", f"WO:{work_order}/0010", "CMD:START"):
            scan(code)
        page.evaluate("() => { window.__enter = []; window.__answer = []; }")
        for _ in range(scans):
            scan("QTY:1")
        enter = page.evaluate("() => window.__enter")
        answer = page.evaluate("() => window.__answer")
        lat = [a - e for e, a in zip(enter, answer, strict=True)]
        out["scans"] = len(lat)
        out["scan_to_answer_ms_p50"] = round(pct(lat, 50), 1)
        out["scan_to_answer_ms_p95"] = round(pct(lat, 95), 1)
        out["scan_to_answer_ms_max"] = round(max(lat), 1)
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scans", type=int, default=100)
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-station-"))
    broker = Mosquitto(work / "mq").start()
    try:
        cfg = plant_config(f"sqlite:///{work}/mes.db", broker.url, debounce_s=0)
        with served(cfg) as (base, engine):
            admin = httpx.post(
                f"{base}/api/v1/auth/login",
                json={"username": "admin", "password": "admin-secret-1"},
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {admin}"}
            httpx.post(f"{base}/api/v1/operators", json={"badge": "E1", "name": "E1"}, headers=auth)
            token = httpx.post(f"{base}/api/v1/stations/ws-10/enrol", headers=auth).json()[
                "access_token"
            ]
            result = intake(engine, release_message("PO-B1", 100_000))
            assert result.work_order is not None
            print(json.dumps(measure(base, token, result.work_order, args.scans, args.loads)))
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
