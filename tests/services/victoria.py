"""A VictoriaMetrics server of our own: the InfluxDB-protocol time-series store for tests."""

import json
import shutil
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.services.ports import free_port, wait_for


class Victoria:
    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=0.5) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def start(self) -> "Victoria":
        exe = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"
        self.proc = subprocess.Popen(
            [
                exe,
                f"-httpListenAddr=127.0.0.1:{self.port}",
                f"-storageDataPath={self.dir}",
                "-retentionPeriod=1",
                "-search.latencyOffset=1s",
                "-loggerLevel=ERROR",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._healthy, 15, f"victoria-metrics on port {self.port}")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)

    def export(self, match: str) -> list[dict[str, Any]]:
        """All samples of the series matching `match`, one dict per series (JSON lines)."""
        urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=5).read()
        q = urllib.parse.urlencode({"match[]": match})
        with urllib.request.urlopen(f"{self.url}/api/v1/export?{q}", timeout=10) as r:
            return [json.loads(line) for line in r.read().decode().splitlines() if line.strip()]

    def wait_export(
        self,
        match: str,
        done: Callable[[list[dict[str, Any]]], bool] = bool,
        timeout: float = 15.0,
    ) -> list[dict[str, Any]]:
        """Export `match` until `done(series)` holds: ingestion becomes searchable within ~1 s."""
        found: list[dict[str, Any]] = []

        def check() -> bool:
            found[:] = self.export(match)
            return done(found)

        wait_for(check, timeout, f"series {match} in victoria-metrics")
        return found
