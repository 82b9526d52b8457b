"""`shopfloor demo` brings up the whole plant as real processes and stops them all on Ctrl-C."""

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request
import uuid
from pathlib import Path

import pytest

from config.plant import Broker
from tests.services.ports import free_port, port_open, wait_for
from uns.client import probe_protocol

DEMO_PORTS = (8000, 15020, 14840)  # MES, Modbus press, OPC UA oven (config/plant.yaml)


def _http(url: str, token: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


@pytest.mark.slow
def test_demo_runs_the_plant_and_stops_cleanly(tmp_path: Path) -> None:
    if any(port_open(p) for p in DEMO_PORTS):
        pytest.skip("a demo (or something else) already holds the demo ports")
    broker_port = free_port()  # nothing answers there: the demo must start its own broker
    env = {**os.environ, "SHOPFLOOR_BROKER__URL": f"mqtt://127.0.0.1:{broker_port}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mes.cli", "demo"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(iter(proc.stdout.readline, "")))
    reader.start()
    try:
        wait_for(lambda: any("Ctrl-C stops" in line for line in out), 90, "the demo banner")
        banner = "".join(out)
        assert f"mqtt://127.0.0.1:{broker_port} (mosquitto)" in banner
        token = banner.split("/station/ws-10#token=", 1)[1].split()[0]

        api = "http://127.0.0.1:8000/api/v1"
        login = _http(
            f"{api}/scans",
            token,
            {"station": "ws-10", "code": "EMP:E1042", "event_id": str(uuid.uuid4())},
        )
        assert login["accepted"] is True

        def released_order() -> list:
            return [w for w in _http(f"{api}/work-orders", token) if w["product"] == "BRKT-200"]

        wait_for(released_order, 30, "the ERP simulator's order as a work order")
        history = tmp_path / "data" / "demo" / "history.sqlite"
        cmd = [sys.executable, "-m", "mes.cli", "history", "press-01.cycle_count", "--since", "5m"]
        hist_env = {**os.environ, "SHOPFLOOR_HISTORIAN__EMBEDDED_PATH": str(history)}

        def press_history() -> bool:
            done = subprocess.run(cmd, env=hist_env, capture_output=True, text=True, check=False)
            return done.returncode == 0 and "press-01" in done.stdout and "good" in done.stdout

        wait_for(press_history, 30, "press telemetry in the embedded historian")
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(45)
        reader.join(5)
    assert code == 0, "".join(out)
    assert "demo: stopped." in "".join(out)
    wait_for(lambda: not any(port_open(p) for p in (*DEMO_PORTS, broker_port)), 10, "ports freed")


def test_embedded_broker_serves_mqtt_311(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uns.embedded_broker", str(port)])
    try:
        wait_for(lambda: port_open(port), 20, "the embedded broker")
        assert probe_protocol(Broker(url=f"mqtt://127.0.0.1:{port}")) == 4  # 3.1.1 fallback
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
