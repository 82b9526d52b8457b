"""OPC UA acquisition benchmark: notifications/s for 10,000 monitored items.

The simulated oven runs in its own process with N extra Double variables that all change
once per update interval. In the same run, against the same server, we measure:

- raw: a plain asyncua client, the usual way (`create_subscription` with a handler whose
  `datachange_notification` counts), items spread over subscriptions of 1,000;
- driver: our OpcUaDriver with the same items and subscription size, into a host that
  counts readings.

Rates are counted over whole server updates (every update changes every item), the two
clients alternate `rounds` times, and each also reports its CPU time per notification
(this process only; the server runs elsewhere), the figure that shows the client's own
cost while the offered load is the server's. Run:

    .venv/bin/python bench/edge_acquisition_opcua.py
        [--items 10000] [--ticks 8] [--interval-ms 1000] [--rounds 2]
"""

import argparse
import asyncio
import json
import logging
import os
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
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
    def __init__(self) -> None:
        self.count = 0

    # raw asyncua handler
    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        self.count += 1

    # our DriverHost
    def readings(self, readings: Sequence[Reading]) -> None:
        self.count += len(readings)

    def status(self, state: DeviceState, error: str | None = None) -> None:
        pass


async def _wait_count(counter: _Counter, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while counter.count < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {counter.count} of {n} initial values arrived")
        await asyncio.sleep(0.05)  # benchmark pacing, not a test


async def _burst_start(counter: _Counter, quiet_s: float, timeout_s: float) -> tuple[float, int]:
    """Wait for the first notification after `quiet_s` without any: a server update began.
    Returns its time and the count before it (or the current ones after `timeout_s`)."""
    last, last_change = counter.count, time.monotonic()
    deadline = last_change + timeout_s
    while time.monotonic() < deadline:
        await asyncio.sleep(0.002)  # benchmark pacing, not a test
        now, count = time.monotonic(), counter.count
        if count != last:
            if now - last_change >= quiet_s:
                return now, last
            last, last_change = count, now
    return time.monotonic(), counter.count


async def _measure(counter: _Counter, interval_ms: int, ticks: int) -> tuple[float, float]:
    """Notifications per second from one server update's start to the start `ticks`
    updates later: whole updates, whatever the phase, and robust to late stragglers."""
    quiet, limit = interval_ms / 3000, interval_ms / 1000 * 3
    t0, n0 = await _burst_start(counter, quiet, limit)
    cpu0 = time.process_time()
    for _ in range(ticks):
        t1, n1 = await _burst_start(counter, quiet, limit)
    cpu = time.process_time() - cpu0
    return (n1 - n0) / (t1 - t0), cpu / max(1, n1 - n0) * 1e6


async def _raw(endpoint: str, items: int, interval_ms: int, ticks: int) -> tuple[float, float]:
    counter = _Counter()
    client = Client(endpoint, timeout=30, watchdog_intervall=4.0)  # same probe as the driver
    await client.connect()
    try:
        ids = _node_ids(items)
        for start in range(0, items, PER_SUBSCRIPTION):
            sub = await client.create_subscription(interval_ms / 2, counter)
            nodes = [client.get_node(n) for n in ids[start : start + PER_SUBSCRIPTION]]
            await sub.subscribe_data_change(nodes)
        await _wait_count(counter, items, 60)
        return await _measure(counter, interval_ms, ticks)
    finally:
        await client.disconnect()


async def _driver(endpoint: str, items: int, interval_ms: int, ticks: int) -> tuple[float, float]:
    counter = _Counter()
    device = OpcUaDevice.model_validate(
        {
            "name": "bench",
            "path": "a/b/c",
            "driver": "opcua",
            "endpoint": endpoint,
            "publishing_interval_ms": interval_ms // 2,
            "max_items_per_subscription": PER_SUBSCRIPTION,
            "max_subscriptions_per_session": 100,
            "timeout_ms": 30000,
            "tags": [{"name": f"x{i}", "node_id": n} for i, n in enumerate(_node_ids(items))],
        }
    )
    with tempfile.TemporaryDirectory() as state:
        task = asyncio.create_task(OpcUaDriver(device, Path(state)).run(counter))
        try:
            await _wait_count(counter, items, 60)
            return await _measure(counter, interval_ms, ticks)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def _run(items: int, ticks: int, interval_ms: int, rounds: int) -> dict[str, Any]:
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
        raws, drivers = [], []
        for _ in range(rounds):  # alternate, so drift in machine load hits both alike
            raws.append(await _raw(endpoint, items, interval_ms, ticks))
            drivers.append(await _driver(endpoint, items, interval_ms, ticks))
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
    raw_rate, raw_cpu = (sum(x) / rounds for x in zip(*raws, strict=True))
    drv_rate, drv_cpu = (sum(x) / rounds for x in zip(*drivers, strict=True))
    return {
        "items": items,
        "update_interval_ms": interval_ms,
        "offered_per_s": items * 1000 / interval_ms,
        "ticks_measured": ticks,
        "rounds": rounds,
        "raw_notifications_per_s": round(raw_rate),
        "driver_notifications_per_s": round(drv_rate),
        "ratio": round(drv_rate / raw_rate, 3),
        "raw_cpu_us_per_notification": round(raw_cpu, 1),
        "driver_cpu_us_per_notification": round(drv_cpu, 1),
        "raw_cpu_bound_per_s": round(1e6 / raw_cpu),
        "driver_cpu_bound_per_s": round(1e6 / drv_cpu),
        "cpu_ratio": round(raw_cpu / drv_cpu, 2),
        "per_round_per_s": {
            "raw": [round(r) for r, _ in raws],
            "driver": [round(r) for r, _ in drivers],
        },
    }


def run_opcua_bench(
    items: int = 10_000, ticks: int = 8, interval_ms: int = 1000, rounds: int = 2
) -> dict:
    """Measure and return the figures (see module doc); called by bench/edge_acquisition.py."""
    logging.getLogger("asyncua").setLevel(logging.CRITICAL)  # teardown noise of the raw client
    return asyncio.run(_run(items, ticks, interval_ms, rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--ticks", type=int, default=8, help="server updates measured per client")
    parser.add_argument("--interval-ms", type=int, default=1000, help="server update interval")
    parser.add_argument("--rounds", type=int, default=2, help="raw/driver alternations")
    args = parser.parse_args()
    result = run_opcua_bench(args.items, args.ticks, args.interval_ms, args.rounds)
    print(json.dumps(result, indent=2))
    print(
        f"OPC UA {result['items']} items: driver {result['driver_notifications_per_s']}/s vs "
        f"raw asyncua {result['raw_notifications_per_s']}/s = {result['ratio']}x "
        f"(target >= 0.9x); CPU per notification {result['driver_cpu_us_per_notification']} us "
        f"vs {result['raw_cpu_us_per_notification']} us = {result['cpu_ratio']}x less "
        f"(CPU-bound ceiling {result['driver_cpu_bound_per_s']}/s vs "
        f"{result['raw_cpu_bound_per_s']}/s)"
    )


if __name__ == "__main__":
    main()
