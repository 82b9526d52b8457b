"""OPC UA acquisition benchmark: notifications/s for 10,000 monitored items.

The simulated oven runs in its own process with N extra Double variables that all change
once per update interval (10,000 items every 2 s: 5,000 notifications/s per client, 10,000/s
for the server, about what a Python server sustains on a shared 2-core machine). Against
the same server, in the same run:

- raw: a plain asyncua client, the usual way (`create_subscription` with a handler whose
  `datachange_notification` counts), items in subscriptions of 1,000, one session, queue
  size 1 like our tags (asyncua's server reads 0 as "unlimited", not as the spec's 1);
- driver: our OpcUaDriver with the same items, subscription size and one session, into a
  host that counts readings.

Throughput: both clients subscribed at once, so the server's hiccups hit both alike, and
counted per server update (every update inside the window, each client's notifications of
it including stragglers, over the wall time those updates spanned); ratio = driver / raw.
Cost: each client alone, CPU time of this process per notification (the server runs
elsewhere), and the rate that cost would allow on one core. Run:

    .venv/bin/python bench/edge_acquisition_opcua.py [--items 10000] [--window 12]
        [--interval-ms 2000]
"""

import argparse
import asyncio
import collections
import contextlib
import json
import logging
import math
import os
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from asyncua import Client  # noqa: E402

from edge.drivers.base import DeviceState  # noqa: E402
from edge.drivers.opcua.config import OpcUaDevice  # noqa: E402
from edge.drivers.opcua.driver import OpcUaDriver  # noqa: E402
from edge.model import Reading  # noqa: E402

SERVER_CODE = """
import asyncio, sys
from simulators.opcua.machine import OvenMachine
from simulators.opcua.testing import oven_config
async def main():
    cfg = oven_config(int(sys.argv[1]), extra_variables=int(sys.argv[2]),
                      update_interval_ms=int(sys.argv[3]), fault_proxy=False)
    m = OvenMachine(cfg)
    await m.start()
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await m.stop()
asyncio.run(main())
"""

PER_SUBSCRIPTION = 1000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _node_ids(items: int) -> list[str]:
    return [f"ns=2;s=Oven.Extra.{i:05d}" for i in range(items)]


class _Counter:
    """Counts notifications, and per server update (extras hold update number + i * 1e-6)."""

    def __init__(self) -> None:
        self.count = 0
        self.per_update: collections.Counter[int] = collections.Counter()
        self.first_seen: dict[int, float] = {}

    def _seen(self, value: Any) -> None:
        update = round(value)
        self.per_update[update] += 1
        if update not in self.first_seen:
            self.first_seen[update] = time.perf_counter()

    # raw asyncua handler
    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        self.count += 1
        self._seen(val)

    # our DriverHost
    def readings(self, readings: Sequence[Reading]) -> None:
        self.count += len(readings)
        for r in readings:
            self._seen(r.value)

    def status(self, state: DeviceState, error: str | None = None) -> None:
        pass


async def _wait_count(counter: _Counter, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while counter.count < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {counter.count} of {n} initial values arrived")
        await asyncio.sleep(0.05)  # benchmark pacing, not a test


@contextlib.asynccontextmanager
async def _raw(endpoint: str, items: int, interval_ms: int) -> AsyncIterator[_Counter]:
    """A plain asyncua client subscribed to every item; yields once initial values are in."""
    counter = _Counter()
    client = Client(endpoint, timeout=30, watchdog_intervall=24 * 3600)  # no probe, as ours
    await client.connect()
    try:
        ids = _node_ids(items)
        for start in range(0, items, PER_SUBSCRIPTION):
            sub = await client.create_subscription(interval_ms / 2, counter)
            nodes = [client.get_node(n) for n in ids[start : start + PER_SUBSCRIPTION]]
            await sub.subscribe_data_change(nodes, queuesize=1)  # as our tags' default
        await _wait_count(counter, items, 120)
        yield counter
    finally:
        await client.disconnect()


@contextlib.asynccontextmanager
async def _driver(endpoint: str, items: int, interval_ms: int) -> AsyncIterator[_Counter]:
    """Our OpcUaDriver with the same items and subscription size, into a counting host."""
    counter = _Counter()
    device = OpcUaDevice.model_validate(
        {
            "name": "bench",
            "path": "a/b/c",
            "driver": "opcua",
            "endpoint": endpoint,
            "publishing_interval_ms": interval_ms // 2,
            "max_items_per_subscription": PER_SUBSCRIPTION,
            "max_subscriptions_per_session": 100,  # one session, like the raw client
            "timeout_ms": 30000,
            "tags": [{"name": f"x{i}", "node_id": n} for i, n in enumerate(_node_ids(items))],
        }
    )
    with tempfile.TemporaryDirectory() as state:
        task = asyncio.create_task(OpcUaDriver(device, Path(state)).run(counter))
        try:
            await _wait_count(counter, items, 120)
            yield counter
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def _together(
    endpoint: str, items: int, interval_ms: int, window_s: float
) -> tuple[float, float, int]:
    """Both clients at once, so the server's hiccups hit both alike. Counted per server
    update: every update inside the window, each client's notifications of it (stragglers
    included), over the wall time those updates spanned. No window-edge effects."""
    async with (
        _raw(endpoint, items, interval_ms) as raw,
        _driver(endpoint, items, interval_ms) as drv,
    ):
        first = max(max(raw.per_update), max(drv.per_update)) + 1
        await asyncio.sleep(window_s)
        end = min(max(raw.per_update), max(drv.per_update))  # exclusive: may be incomplete
        await asyncio.sleep(3 * interval_ms / 1000)  # stragglers of the last counted update
        if end <= first:
            raise RuntimeError("the server made no complete update within the window")
        t_first = min(c.first_seen.get(first, math.inf) for c in (raw, drv))
        t_end = min(c.first_seen.get(end, math.inf) for c in (raw, drv))
        span = t_end - t_first
        if not 0 < span < math.inf:
            span = (end - first) * interval_ms / 1000  # nominal, if a client missed one

        def rate(c: _Counter) -> float:
            return sum(c.per_update[u] for u in range(first, end)) / span

        return rate(raw), rate(drv), end - first


Opener = Callable[[str, int, int], contextlib.AbstractAsyncContextManager[_Counter]]


def _rss_mb() -> float:
    """Resident set size of this process now (Linux)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def _cpu_cost(
    opener: Opener, endpoint: str, items: int, interval_ms: int, window_s: float
) -> tuple[float, float]:
    """CPU microseconds of this process per notification, one client alone; and the
    process RSS (MB) at the end, with that client's items subscribed."""
    async with opener(endpoint, items, interval_ms) as counter:
        n0, cpu0 = counter.count, time.process_time()
        await asyncio.sleep(window_s)
        n, cpu = counter.count - n0, time.process_time() - cpu0
        rss = _rss_mb()
    return cpu / max(n, 1) * 1e6, rss


async def _run(items: int, window_s: float, interval_ms: int) -> dict[str, Any]:
    port = _free_port()
    endpoint = f"opc.tcp://127.0.0.1:{port}/shopfloor/oven"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SERVER_CODE,
        str(port),
        str(items),
        str(interval_ms),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
        cwd=str(ROOT),
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 120)
        if b"READY" not in line:
            raise RuntimeError("simulator did not start")
        raw_rate, drv_rate, updates = await _together(endpoint, items, interval_ms, window_s)
        raw_cpu, raw_rss = await _cpu_cost(_raw, endpoint, items, interval_ms, window_s / 2)
        drv_cpu, drv_rss = await _cpu_cost(_driver, endpoint, items, interval_ms, window_s / 2)
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
    return {
        "items": items,
        "update_interval_ms": interval_ms,
        "offered_per_s_per_client": items * 1000 / interval_ms,
        "window_s": window_s,
        "updates_counted": updates,
        "raw_notifications_per_s": round(raw_rate),
        "driver_notifications_per_s": round(drv_rate),
        "ratio": round(drv_rate / raw_rate, 3) if raw_rate else math.nan,
        "raw_cpu_us_per_notification": round(raw_cpu, 1),
        "driver_cpu_us_per_notification": round(drv_cpu, 1),
        "raw_cpu_bound_per_s": round(1e6 / raw_cpu),
        "driver_cpu_bound_per_s": round(1e6 / drv_cpu),
        "cpu_ratio": round(raw_cpu / drv_cpu, 2),
        "rss_mb_raw_phase": round(raw_rss, 1),
        "rss_mb_driver_phase": round(drv_rss, 1),
    }


def run_opcua_bench(items: int = 10_000, window_s: float = 12.0, interval_ms: int = 2000) -> dict:
    """Measure and return the figures (see module doc); called by bench/edge_acquisition.py."""
    logging.getLogger("asyncua").setLevel(logging.CRITICAL)  # teardown noise of the raw client
    return asyncio.run(_run(items, window_s, interval_ms))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=12.0, help="seconds measured")
    parser.add_argument("--interval-ms", type=int, default=2000, help="server update interval")
    args = parser.parse_args()
    result = run_opcua_bench(args.items, args.window, args.interval_ms)
    print(json.dumps(result, indent=2))
    print(
        f"OPC UA {result['items']} items: driver {result['driver_notifications_per_s']}/s vs "
        f"raw asyncua {result['raw_notifications_per_s']}/s = {result['ratio']}x "
        f"(target >= 0.9x); CPU per notification {result['driver_cpu_us_per_notification']} us "
        f"vs {result['raw_cpu_us_per_notification']} us = {result['cpu_ratio']}x less "
        f"(one-core ceiling {result['driver_cpu_bound_per_s']}/s vs "
        f"{result['raw_cpu_bound_per_s']}/s)"
    )


if __name__ == "__main__":
    main()
