"""`shopfloor mes serve` killed with SIGKILL during a scan burst, then restarted.

Every scan the server answered must be counted once, and every scan it did not answer is
resent with the same event_id after the restart: in the end each event counted exactly once.
"""

import asyncio
import os
import shutil
import signal
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlmodel import Session, func, select

from mes.core.db import make_engine
from mes.orders.models import Operation
from mes.reporting.models import ScanRecord
from tests.mes.orders_support import intake, release_message
from tests.mes.scan_harness import multi_station_plant
from tests.services.mosquitto import Mosquitto
from tests.services.ports import free_port, port_open, wait_for

STATIONS = 5
KILL_AFTER = 60  # acknowledged quantity scans before the kill


def _serve(config: Path, log: Path) -> subprocess.Popen[bytes]:
    exe = shutil.which("shopfloor") or str(Path(os.sys.executable).parent / "shopfloor")
    with log.open("ab") as out:
        return subprocess.Popen(
            [exe, "mes", "serve", "-c", str(config)], stdout=out, stderr=subprocess.STDOUT
        )


def _ready(base: str, proc: subprocess.Popen[bytes]) -> bool:
    if proc.poll() is not None:
        raise AssertionError(f"shopfloor mes serve exited with {proc.returncode}")
    try:
        return httpx.get(f"{base}/openapi.json", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.slow
def test_kill_during_burst_loses_nothing_and_counts_nothing_twice(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    port = free_port()
    cfg = multi_station_plant(f"sqlite:///{tmp_path}/mes.db", mosquitto.url, STATIONS)
    raw = cfg.model_dump(mode="json", exclude_none=True)
    raw["mes"].update(port=port, bootstrap_admin_password="admin-secret-1")
    config = tmp_path / "plant.yaml"
    config.write_text(yaml.safe_dump(raw))
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    proc = _serve(config, log)
    try:
        wait_for(lambda: _ready(base, proc), 60, "shopfloor mes serve")
        engine = make_engine(cfg.database.url)
        wo = intake(engine, release_message("PO-K", 5000, routing="RT-MULTI")).work_order
        admin = httpx.post(
            f"{base}/api/v1/auth/login", json={"username": "admin", "password": "admin-secret-1"}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {admin}"}
        httpx.post(f"{base}/api/v1/operators", json={"badge": "E1", "name": "A"}, headers=auth)
        tokens = [
            httpx.post(f"{base}/api/v1/stations/ws-{i:02d}/enrol", headers=auth).json()[
                "access_token"
            ]
            for i in range(1, STATIONS + 1)
        ]
        t0 = datetime.now(UTC)
        sent: dict[str, dict[str, Any]] = {}  # event_id -> request (with headers)
        answered: dict[str, dict[str, Any]] = {}

        def request(i: int, k: int, code: str) -> dict[str, Any]:
            body = {
                "station": f"ws-{i + 1:02d}",
                "code": code,
                "event_id": str(uuid.uuid4()),
                "scanned_at": (t0 + timedelta(seconds=3 * k)).isoformat(),
            }
            return {"json": body, "headers": {"Authorization": f"Bearer {tokens[i]}"}}

        async def burst() -> None:
            acked = asyncio.Event()
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:

                async def station(i: int) -> None:
                    for k, code in enumerate(["EMP:E1", f"WO:{wo}", "CMD:START"]):
                        r = await client.post("/api/v1/scans", **request(i, k, code))
                        assert r.status_code == 200, r.text
                    k = 3
                    while True:
                        req = request(i, k, "QTY:1")
                        k += 1
                        sent[req["json"]["event_id"]] = req
                        try:
                            r = await client.post("/api/v1/scans", **req)
                        except httpx.HTTPError:
                            return  # the server is gone: this one is unanswered
                        if r.status_code == 200:
                            answered[req["json"]["event_id"]] = r.json()
                        if len(answered) >= KILL_AFTER:
                            acked.set()

                async def killer() -> None:
                    await acked.wait()
                    proc.send_signal(signal.SIGKILL)

                await asyncio.gather(killer(), *(station(i) for i in range(STATIONS)))

        asyncio.run(asyncio.wait_for(burst(), 120))
        proc.wait(10)
        wait_for(lambda: not port_open(port), 10, "killed server to release its port")
        unanswered = [e for e in sent if e not in answered]
        assert unanswered, "the kill came after the burst: nothing was in flight"

        proc = _serve(config, log)
        wait_for(lambda: _ready(base, proc), 60, "restarted shopfloor mes serve")
        with httpx.Client(base_url=base, timeout=10) as client:
            # resend what was not answered, and some of what was (tablet retries)
            for event in unanswered + list(answered)[:10]:
                r = client.post("/api/v1/scans", **sent[event])
                assert r.status_code == 200, r.text
                if event in answered:
                    assert r.json() == answered[event]
                answered[event] = r.json()
        with Session(engine) as s:
            op = s.exec(select(Operation).where(Operation.number == "0010")).one()
            logged = s.exec(
                select(func.count()).select_from(ScanRecord).where(ScanRecord.code == "QTY:1")
            ).one()
        assert len(answered) == len(sent)
        assert op.good == len(sent)
        assert logged == len(sent)
        engine.dispose()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
