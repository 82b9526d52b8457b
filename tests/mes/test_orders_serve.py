"""`shopfloor mes serve`: one clear line and a non-zero exit when it cannot run."""

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.mes.orders_support import PLANT_YAML
from tests.services.ports import free_port

SHOPFLOOR = str(Path(sys.executable).with_name("shopfloor"))


def serve(tmp_path, **env):
    return subprocess.run(
        [SHOPFLOOR, "mes", "serve", "-c", str(PLANT_YAML)],
        env={**os.environ, "SHOPFLOOR_DATABASE__URL": f"sqlite:///{tmp_path}/mes.db", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_port_taken(tmp_path, mosquitto):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = serve(tmp_path, SHOPFLOOR_MES__PORT=str(port), SHOPFLOOR_BROKER__URL=mosquitto.url)
    assert r.returncode == 1
    assert r.stderr.strip() == f"error: port {port} on 127.0.0.1 is already in use (mes.port)"


def test_broker_unreachable(tmp_path):
    dead = free_port()
    r = serve(
        tmp_path,
        SHOPFLOOR_MES__PORT=str(free_port()),
        SHOPFLOOR_BROKER__URL=f"mqtt://127.0.0.1:{dead}",
    )
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: broker unreachable: mqtt://127.0.0.1:{dead}")
