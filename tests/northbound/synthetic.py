"""A synthetic device for agent tests where the driver is not the subject, and an agent process
that uses it: `python -m tests.northbound.synthetic PLANT.yaml`."""

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

import yaml

from config.loader import load_plant
from config.logs import setup_logging
from edge.agent import EdgeAgent
from edge.drivers.base import DriverHost, WriteRefused
from edge.model import Quality, Reading, Value, now_ms


class SyntheticDriver:
    """Every poll: each tag's value is the poll number plus the tag index."""

    def __init__(self, cfg: Any, state_dir: Path) -> None:
        self.cfg = cfg
        self.tags = [t.name for t in cfg.tags]
        self.writable = {t.name for t in cfg.tags if t.writable}
        self.written: list[tuple[str, Value]] = []
        self.overruns = 0

    async def run(self, host: DriverHost) -> None:
        host.status("connected")
        period = self.cfg.poll_interval_ms / 1000
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        n = 0
        t = 0
        while True:
            # a poll late on a loaded machine is followed at once by the next: two polls in
            # one millisecond would be one sample in a time series (same tag and time), so
            # each poll has a time of its own
            t = max(now_ms(), t + 1)
            host.readings(
                [Reading(tag, float(n + i), Quality.GOOD, t, t) for i, tag in enumerate(self.tags)]
            )
            n += 1
            next_at += period
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    async def write(self, tag: str, value: Value) -> None:
        if tag not in self.writable:
            raise WriteRefused(f"{tag} is read-only on the device")
        self.written.append((tag, value))


def plant(
    broker_url: str,
    work: Path,
    devices: int = 1,
    tags: int = 5,
    poll_ms: int = 20,
    metrics_port: int | None = None,
    token: str | None = None,
    retries: int = 0,
) -> dict[str, Any]:
    edge: dict[str, Any] = {
        "agent_id": "edge-t",
        "state_dir": str(work / "state"),
        "queue": {"path": str(work / "queue.sqlite")},
        "metrics_port": metrics_port,
    }
    if token:
        edge["api_token"] = token
    return {
        "version": 1,
        "plant": {
            "enterprise": "acme",
            "site": "plant1",
            "areas": [
                {"name": "stamping", "lines": [{"name": "line1", "cells": [{"name": "cell1"}]}]}
            ],
        },
        "broker": {"url": broker_url, "connect_retries": retries},
        "edge": edge,
        "devices": [
            {
                "name": f"press-{d + 1:02d}",
                "path": "stamping/line1/cell1",
                "driver": "modbus_tcp",
                "connection": {"host": "127.0.0.1", "port": 1},
                "poll_interval_ms": poll_ms,
                "tags": [
                    {"name": f"t{i}", "address": i, "type": "float32", "writable": i == 0}
                    | ({"limits": {"min": -100, "max": 100}} if i == 0 else {})
                    for i in range(tags)
                ],
            }
            for d in range(devices)
        ],
    }


def write_plant(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def main() -> None:
    cfg = load_plant(sys.argv[1])
    setup_logging("INFO", service="edge-synthetic")

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await EdgeAgent(cfg, driver_factory=SyntheticDriver).run(stop)

    asyncio.run(run())


if __name__ == "__main__":
    main()
