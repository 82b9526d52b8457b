"""`shopfloor historian run` as a process: metrics, clean stop, start failures."""

import signal
import subprocess
import sys
from pathlib import Path

from tests.northbound.helpers import batch, northbound
from tests.northbound.synthetic import plant, write_plant
from tests.northbound.test_agent_process import metric
from tests.services.mosquitto import Mosquitto
from tests.services.ports import free_port, wait_for

SHOPFLOOR = str(Path(sys.executable).parent / "shopfloor")


def test_historian_process_stores_serves_metrics_and_stops(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    port = free_port()
    data = plant(mosquitto.url, tmp_path, devices=0)
    data["historian"] = {
        "embedded_path": str(tmp_path / "h.sqlite"),
        "metrics_port": port,
        "client_id": "hist-proc",
        "share_group": "hist-proc",
        "flush_interval_ms": 50,
    }
    cfg = write_plant(tmp_path / "plant.yaml", data)
    proc = subprocess.Popen(
        [SHOPFLOOR, "historian", "run", "-c", str(cfg)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: metric(port, "shopfloor_historian_subscribed") == 1, 20, "subscribed")
        nb = northbound(mosquitto.url, str(tmp_path / "q.sqlite"))
        nb.start()
        for i in range(3):
            nb.put(batch("press-01", 4, base=i))
        wait_for(
            lambda: metric(port, "shopfloor_historian_points_written_total") == 12, 20, "12 points"
        )
        nb.stop()
        assert metric(port, "shopfloor_historian_messages_acked_total") == 3
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_historian_unreachable_broker_is_one_line(tmp_path: Path) -> None:
    data = plant(f"mqtt://127.0.0.1:{free_port()}", tmp_path, devices=0)
    cfg = write_plant(tmp_path / "plant.yaml", data)
    r = subprocess.run(
        [SHOPFLOOR, "historian", "run", "-c", str(cfg)], capture_output=True, timeout=60, text=True
    )
    assert r.returncode == 1
    assert (
        r.stderr.strip()
        .splitlines()[-1]
        .startswith("historian cannot start: broker unreachable after 1 attempts")
    )
