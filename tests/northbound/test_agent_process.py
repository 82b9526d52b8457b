"""The agent as a process: kill -9 while the broker is down, start failures, SIGTERM."""

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from tests.northbound.helpers import NS, Collector
from tests.northbound.synthetic import plant, write_plant
from tests.services.mosquitto import Mosquitto
from tests.services.ports import free_port, wait_for

SHOPFLOOR = str(Path(sys.executable).parent / "shopfloor")


def metric(port: int, name: str) -> float | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as r:
            text = r.read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def start_agent(cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.northbound.synthetic", str(cfg)],
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


@pytest.mark.slow
def test_agent_killed_while_broker_down_replays_backlog(
    mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path
) -> None:
    broker = mosquitto_factory().start()
    port = free_port()
    cfg = write_plant(tmp_path / "plant.yaml", plant(broker.url, tmp_path, metrics_port=port))
    col = Collector(broker.url, f"{NS.root}/+/+/+/+/_telemetry", client_id="col-kill9")
    wait_for((broker.dir / "mosquitto.db").exists, 5, "subscription persisted")
    agent = start_agent(cfg, tmp_path / "agent.log")
    try:
        wait_for(lambda: len(col.seqs("press-01")) >= 20, 15, "telemetry flowing")
        broker.kill()
        wait_for(
            lambda: (metric(port, "shopfloor_edge_queue_depth") or 0) >= 100, 15, "backlog of 100"
        )
        agent.send_signal(signal.SIGKILL)
        agent.wait(10)
        delivered_before = max(col.seqs("press-01"))
        broker.start()
        agent = start_agent(cfg, tmp_path / "agent.log")
        # everything up to the live edge arrives: the backlog (>= 100 polls) and new polls
        wait_for(
            lambda: len(set(col.seqs("press-01"))) >= delivered_before + 150,
            30,
            "backlog replayed after restart",
        )
        wait_for(
            lambda: (metric(port, "shopfloor_edge_queue_depth") or 99) < 10, 15, "backlog gone"
        )
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(15) == 0
    finally:
        if agent.poll() is None:
            agent.kill()
    seqs = col.seqs("press-01")
    top = max(seqs)
    assert set(seqs) == set(range(1, top + 1)), "a gap: some value was lost"
    firsts: list[int] = []
    for s in seqs:
        if s not in firsts[-200:]:
            firsts.append(s)
    assert firsts == sorted(firsts), "order per device broken"
    statuses = [orjson.loads(p) for t, p, _ in col.messages if t.endswith("/_status")]
    assert not statuses  # the collector only listens to telemetry
    col.close()


def test_start_failures_exit_nonzero_with_one_line_reason(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    # broker unreachable
    dead = f"mqtt://127.0.0.1:{free_port()}"
    cfg = write_plant(tmp_path / "a.yaml", plant(dead, tmp_path))
    r = subprocess.run([SHOPFLOOR, "edge", "run", "-c", str(cfg)], capture_output=True, timeout=60)
    assert r.returncode == 1
    last = r.stderr.decode().strip().splitlines()[-1]
    assert last.startswith("edge agent cannot start: broker unreachable after 1 attempts")
    # metrics port taken
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = write_plant(tmp_path / "b.yaml", plant(mosquitto.url, tmp_path, metrics_port=port))
        r = subprocess.run(
            [SHOPFLOOR, "edge", "run", "-c", str(cfg)], capture_output=True, timeout=60
        )
    assert r.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in r.stderr.decode().strip().splitlines()[-1]
    # bad config
    bad = plant(mosquitto.url, tmp_path)
    bad["edge"]["queue"]["max_bytes"] = 5
    cfg = write_plant(tmp_path / "c.yaml", bad)
    r = subprocess.run([SHOPFLOOR, "edge", "run", "-c", str(cfg)], capture_output=True, timeout=60)
    assert r.returncode == 2
    err = r.stderr.decode().strip()
    assert len(err.splitlines()) == 1
    assert "edge.queue.max_bytes" in err


def test_sigterm_publishes_offline_and_status_prints(mosquitto: Mosquitto, tmp_path: Path) -> None:
    port = free_port()
    data = plant(mosquitto.url, tmp_path, metrics_port=port, devices=0)  # the real registry
    cfg = write_plant(tmp_path / "plant.yaml", data)
    col = Collector(mosquitto.url, NS.agent_status("edge-t"), client_id="col-sigterm")
    env = {**os.environ}
    agent = subprocess.Popen(
        [SHOPFLOOR, "edge", "run", "-c", str(cfg)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        wait_for(lambda: metric(port, "shopfloor_edge_broker_connected") == 1, 20, "agent up")
        wait_for(lambda: any(orjson.loads(p)["online"] for _, p, _ in col.messages), 10, "online")
        st = subprocess.run(
            [SHOPFLOOR, "edge", "status", "-c", str(cfg)], capture_output=True, timeout=30
        )
        assert st.returncode == 0
        assert "broker_connected" in st.stdout.decode()
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(15) == 0
    finally:
        if agent.poll() is None:
            agent.kill()
    # the agent had its offline status acknowledged before it exited; the collector, another
    # client, hears it a moment later
    wait_for(lambda: orjson.loads(col.messages[-1][1])["online"] is False, 10, "the offline status")
    logs = [orjson.loads(line) for line in agent.stderr.read().decode().splitlines() if line]  # type: ignore[union-attr]
    assert any(entry["msg"] == "edge agent stopped" for entry in logs)
    col.close()


def test_agent_killed_leaves_its_will_offline(mosquitto: Mosquitto, tmp_path: Path) -> None:
    data = plant(mosquitto.url, tmp_path, devices=0)
    data["edge"]["agent_id"] = "edge-will"
    cfg = write_plant(tmp_path / "plant.yaml", data)
    col = Collector(mosquitto.url, NS.agent_status("edge-will"), client_id="col-will")
    agent = start_agent(cfg, tmp_path / "agent.log")
    try:
        wait_for(lambda: any(orjson.loads(p)["online"] for _, p, _ in col.messages), 20, "online")
        agent.send_signal(signal.SIGKILL)
        agent.wait(10)
        wait_for(lambda: len(col.messages) >= 2, 10, "the will")
    finally:
        if agent.poll() is None:
            agent.kill()
    will = orjson.loads(col.messages[-1][1])
    assert will["online"] is False
    assert will["agent"] == "edge-will"
    col.close()
