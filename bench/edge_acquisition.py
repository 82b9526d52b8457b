"""Edge acquisition benchmark: Modbus values/s through the full pipeline vs a raw pymodbus loop,
agent RSS with 10,000 configured tags, and (when present) the OPC UA section.

Modbus: N simulated presses (one process, one TCP port each, M holding registers that change on
every update) are read, in the same run and against the same servers, by
- raw: one plain pymodbus client per device reading the same blocks back to back;
- driver: our ModbusDriver per device (planner, codec, fixed-rate groups) into a DevicePipeline
  (deadband/RBE/stale) whose sink counts; values/s are the readings the pipeline was handed.
Both poll at the same fixed interval (default 10 devices x 1,000 registers every 200 ms =
50,000 values/s offered); `--ceiling` adds a heavy run (4 x 500 every 10 ms = 200,000 values/s
offered, near what one pymodbus client loop sustains here; the raw loop does no per-value work,
the driver decodes, timestamps and filters every value). Rounds alternate raw/driver so both
see the same machine load;
ratio = driver / raw (target >= 0.8).

Memory: a fresh process loads a plant with 10,000 Modbus tags (10 devices x 1,000), creates
every driver and pipeline and polls the simulators for a few seconds; RSS is read before
(interpreter + imports: the baseline) and after (target <= 100 MB).

    .venv/bin/python bench/edge_acquisition.py [--devices 10] [--registers 1000]
        [--interval-ms 200] [--window 4] [--rounds 2] [--ceiling] [--skip-opcua]
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pymodbus.client import AsyncModbusTcpClient  # noqa: E402

from edge.drivers.modbus.config import ModbusDevice  # noqa: E402
from edge.drivers.modbus.driver import ModbusDriver  # noqa: E402
from edge.drivers.modbus.planner import plan_reads  # noqa: E402
from edge.model import TelemetryBatch  # noqa: E402
from edge.pipeline.device import DevicePipeline  # noqa: E402
from simulators.modbus.registers import EXTRA_BASE  # noqa: E402

SERVER_CODE = """
import asyncio, sys
from simulators.modbus.machine import ModbusSimulator
from simulators.modbus.testing import press_config
async def main():
    base, n, regs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    sims = [ModbusSimulator([press_config(base + i, name=f"p{i}", extra_registers=regs,
                                          update_interval_ms=100)]) for i in range(n)]
    for s in sims:
        await s.start()
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
asyncio.run(main())
"""

MEMORY_CODE = """
import asyncio, json, sys, resource
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
from config.plant import PlantConfig
from edge.drivers.registry import create_driver
from edge.pipeline.device import DevicePipeline
import edge.drivers.modbus.driver, pymodbus.client
base_rss = rss()
data = json.loads(sys.stdin.readline())
cfg = PlantConfig.model_validate(data)
class Sink:
    n = 0
    def put(self, batch):
        Sink.n += batch.count
async def main():
    sink = Sink()
    tasks = []
    for dev in cfg.devices:
        d = create_driver(dev, "/tmp")
        p = DevicePipeline(dev, sink, lambda *a: None)
        tasks.append(asyncio.create_task(d.run(p)))
        tasks.append(asyncio.create_task(p.run_ticks()))
    await asyncio.sleep(float(sys.argv[1]))
    peak = rss()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps({"baseline_mb": round(base_rss, 1), "rss_mb": round(peak, 1),
                      "values": Sink.n, "tags": sum(len(d.tags) for d in cfg.devices)}))
asyncio.run(main())
"""


def free_ports(n: int) -> int:
    """A base port with n free ports after it (checked by binding)."""
    import socket

    for base in range(21000, 60000, 97):
        socks = []
        try:
            for i in range(n):
                s = socket.socket()
                s.bind(("127.0.0.1", base + i))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port range")


def device_cfg(name: str, port: int, registers: int, interval_ms: int = 10) -> dict[str, Any]:
    return {
        "name": name,
        "path": "bench/line/cell",
        "driver": "modbus_tcp",
        "connection": {"host": "127.0.0.1", "port": port},
        "poll_interval_ms": interval_ms,
        "timeout_ms": 2000,
        "tags": [{"name": f"r{i}", "address": EXTRA_BASE + i} for i in range(registers)],
    }


class Servers:
    def __init__(self, base: int, n: int, registers: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER_CODE, str(base), str(n), str(registers)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if b"READY" not in line:
            raise RuntimeError(f"simulators did not start: {line!r}")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)


async def raw_round(devices: list[ModbusDevice], window: float) -> float:
    """Values/s of plain pymodbus clients reading the planner's blocks, at the devices' poll
    interval (back to back when a poll takes longer than the interval)."""
    count = 0
    clients = []
    for dev in devices:
        conn = dev.connection
        client = AsyncModbusTcpClient(conn.host, port=conn.port)  # type: ignore[union-attr]
        await client.connect()
        clients.append(client)
    started = time.perf_counter()
    stop_at = started + window

    async def one(dev: ModbusDevice, client: AsyncModbusTcpClient) -> None:
        nonlocal count
        reads = plan_reads(dev.tags, dev.limits, dev.addressing)
        interval = dev.poll_interval_ms / 1000
        next_at = time.perf_counter()
        while time.perf_counter() < stop_at:
            for r in reads:
                rr = await client.read_holding_registers(r.address, count=r.count, device_id=1)
                count += len(rr.registers)
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

    await asyncio.gather(*(one(d, c) for d, c in zip(devices, clients, strict=True)))
    elapsed = time.perf_counter() - started
    for c in clients:
        c.close()
    return count / elapsed


class CountingHost:
    """What the agent puts between a driver and its pipeline: count, then hand on."""

    def __init__(self, pipeline: DevicePipeline) -> None:
        self.pipeline = pipeline
        self.values = 0

    def readings(self, readings: Any) -> None:
        self.values += len(readings)
        self.pipeline.readings(readings)

    def poll(self, blocks: Any, readings: Any) -> None:
        self.values += len(readings) + sum(len(b.tags) for b in blocks)
        self.pipeline.poll(blocks, readings)

    def status(self, state: Any, error: str | None = None) -> None:
        self.pipeline.status(state, error)


class CountingSink:
    def __init__(self) -> None:
        self.published = 0

    def put(self, batch: TelemetryBatch) -> None:
        self.published += batch.count


async def driver_round(devices: list[ModbusDevice], window: float) -> tuple[float, float]:
    """Values/s acquired through driver + pipeline, and values/s the pipeline published."""
    sink = CountingSink()
    hosts = [CountingHost(DevicePipeline(d, sink, lambda *a: None)) for d in devices]
    drivers = [ModbusDriver(d) for d in devices]
    tasks = [asyncio.create_task(drv.run(h)) for drv, h in zip(drivers, hosts, strict=True)]
    # measure from the first complete poll of every device (connects excluded, like raw)
    while not all(h.values for h in hosts):
        await asyncio.sleep(0.005)
    start_values = sum(h.values for h in hosts)
    start_pub = sink.published
    started = time.perf_counter()
    await asyncio.sleep(window)
    elapsed = time.perf_counter() - started
    acquired = sum(h.values for h in hosts) - start_values
    published = sink.published - start_pub
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return acquired / elapsed, published / elapsed


async def modbus_bench(
    n: int, registers: int, window: float, rounds: int, interval_ms: int
) -> dict[str, Any]:
    base = free_ports(n)
    servers = Servers(base, n, registers)
    try:
        devices = [
            ModbusDevice.model_validate(device_cfg(f"p{i}", base + i, registers, interval_ms))
            for i in range(n)
        ]
        raw: list[float] = []
        drv: list[float] = []
        pub: list[float] = []
        for _ in range(rounds):
            raw.append(await raw_round(devices, window))
            acquired, published = await driver_round(devices, window)
            drv.append(acquired)
            pub.append(published)
    finally:
        servers.close()
    raw_v, drv_v = statistics.median(raw), statistics.median(drv)
    return {
        "devices": n,
        "registers_per_device": registers,
        "poll_interval_ms": interval_ms,
        "offered_values_per_s": round(n * registers * 1000 / interval_ms),
        "window_s": window,
        "rounds": rounds,
        "raw_values_per_s": round(raw_v),
        "driver_values_per_s": round(drv_v),
        "pipeline_published_per_s": round(statistics.median(pub)),
        "ratio": round(drv_v / raw_v, 3),
        "raw_rounds": [round(x) for x in raw],
        "driver_rounds": [round(x) for x in drv],
    }


def memory_bench(devices: int = 10, tags_per_device: int = 1000, seconds: float = 4.0) -> dict:
    base = free_ports(devices)
    servers = Servers(base, devices, tags_per_device)
    try:
        plant = {
            "plant": {
                "enterprise": "bench",
                "site": "s",
                "areas": [
                    {"name": "bench", "lines": [{"name": "line", "cells": [{"name": "cell"}]}]}
                ],
            },
            "devices": [
                device_cfg(f"p{i}", base + i, tags_per_device, interval_ms=1000)
                for i in range(devices)
            ],
        }
        done = subprocess.run(
            [sys.executable, "-c", MEMORY_CODE, str(seconds)],
            input=json.dumps(plant) + "\n",
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=120,
        )
    finally:
        servers.close()
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument("--registers", type=int, default=1000)
    parser.add_argument("--interval-ms", type=int, default=200, help="poll interval")
    parser.add_argument("--ceiling", action="store_true", help="also run at 10 ms (saturated)")
    parser.add_argument("--window", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-opcua", action="store_true")
    args = parser.parse_args()
    runs = [(args.devices, args.registers, args.interval_ms)]
    if args.ceiling:
        runs.append((4, 500, 10))
    for n, regs, interval in runs:
        modbus = asyncio.run(modbus_bench(n, regs, args.window, args.rounds, interval))
        print(json.dumps(modbus, indent=2))
        print(
            f"Modbus {n} devices x {regs} registers every {interval} ms "
            f"(offered {modbus['offered_values_per_s']} values/s): driver+pipeline "
            f"{modbus['driver_values_per_s']} values/s vs raw pymodbus "
            f"{modbus['raw_values_per_s']} values/s = {modbus['ratio']}x (target >= 0.8)"
        )
    memory = memory_bench()
    print(json.dumps(memory, indent=2))
    print(
        f"Agent RSS with {memory['tags']} Modbus tags polling: {memory['rss_mb']} MB "
        f"(interpreter + imports baseline {memory['baseline_mb']} MB; target <= 100 MB)"
    )
    if args.skip_opcua:
        return
    try:
        from bench.edge_acquisition_opcua import run_opcua_bench
    except ImportError:
        print("OPC UA section: bench/edge_acquisition_opcua.py not present")
        return
    opcua = run_opcua_bench()
    print(json.dumps(opcua, indent=2))
    print(
        f"OPC UA {opcua.get('items')} items: driver {opcua.get('driver_notifications_per_s')}/s "
        f"vs raw asyncua {opcua.get('raw_notifications_per_s')}/s = {opcua.get('ratio')}x "
        "(target >= 0.9x)"
    )


if __name__ == "__main__":
    main()
