"""The walking skeleton, every hop real and every part its own process:

Modbus simulator -> edge agent -> MQTT `_telemetry` -> historian -> VictoriaMetrics, and
ERP order on `_erp/orders` -> MES work order -> scans over HTTP -> confirmation on
`_mes/confirmations`. The ERP side is a bare paho client speaking the contract.
"""

import json
import os
import queue
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml

from tests.services.mosquitto import Mosquitto
from tests.services.ports import free_port, port_open, wait_for
from tests.services.victoria import Victoria

ROOT = Path(__file__).resolve().parent.parent


def _plant(tmp: Path, broker: str, store: str, modbus_port: int, mes_port: int) -> Path:
    plant = yaml.safe_load((ROOT / "config" / "plant.yaml").read_text())
    plant["plant"]["site"] = f"e2e{uuid.uuid4().hex[:6]}"
    plant["broker"] = {"url": broker}
    plant["historian"] = {"url": store, "flush_interval_ms": 100}
    plant["database"] = {"url": f"sqlite:///{tmp / 'mes.db'}"}
    plant["edge"] = {
        "agent_id": "edge-e2e",
        "state_dir": str(tmp / "edge"),
        "queue": {"path": str(tmp / "queue.sqlite")},
    }
    plant["mes"] = {"port": mes_port, "debounce_s": 0}
    press = next(d for d in plant["devices"] if d["name"] == "press-01")
    press["connection"]["port"] = modbus_port
    press["poll_interval_ms"] = 100
    plant["devices"] = [press]
    units = plant["performance"]["work_units"]
    plant["performance"]["work_units"] = [u for u in units if u["device"] == "press-01"]
    plant["alarms"] = [a for a in plant.get("alarms", []) if a["device"] == "press-01"]
    path = tmp / "plant.yaml"
    path.write_text(yaml.safe_dump(plant))
    sims = yaml.safe_load((ROOT / "config" / "simulators.yaml").read_text())
    sims["machines"] = [m for m in sims["machines"] if m["name"] == "press-01"]
    sims["machines"][0]["port"] = modbus_port
    (tmp / "simulators.yaml").write_text(yaml.safe_dump(sims))
    return path


class Parts:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, *args: str) -> None:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "mes.cli", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.tmp,
            env=os.environ.copy(),
        )
        self.procs.append((name, proc))

    def logs(self) -> str:
        return "\n".join(
            f"--- {n}\n{(self.tmp / f'{n}.log').read_text()[-3000:]}" for n, _ in self.procs
        )

    def stop(self) -> dict[str, int]:
        for _, p in reversed(self.procs):
            p.send_signal(signal.SIGTERM)
        return {n: p.wait(20) for n, p in self.procs}


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[Parts]:
    p = Parts(tmp_path)
    yield p
    for _, proc in p.procs:
        if proc.poll() is None:
            proc.kill()


def _api(url: str, token: str, body: dict[str, Any] | None = None) -> Any:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        method="POST" if body is not None else "GET",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


@pytest.mark.slow
def test_every_hop_is_real(
    tmp_path: Path, mosquitto: Mosquitto, victoria: Victoria, parts: Parts
) -> None:
    modbus_port, mes_port = free_port(), free_port()
    plant = _plant(tmp_path, mosquitto.url, victoria.url, modbus_port, mes_port)
    cfg = yaml.safe_load(plant.read_text())
    root = f"uns/v1/{cfg['plant']['enterprise']}/{cfg['plant']['site']}"

    erp_inbox: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
    erp = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"erp-{uuid.uuid4().hex[:6]}")
    erp.on_message = lambda c, u, m: erp_inbox.put((m.topic, json.loads(m.payload)))
    erp.connect("127.0.0.1", mosquitto.port)
    erp.subscribe([(f"{root}/_mes/confirmations", 1), (f"{root}/+/+/+/press-01/_telemetry", 1)])
    erp.loop_start()

    parts.start("sim", "sim", "run", "-c", str(tmp_path / "simulators.yaml"))
    wait_for(lambda: port_open(modbus_port), 20, "the Modbus simulator")
    parts.start("edge", "edge", "run", "-c", str(plant))
    parts.start("historian", "historian", "run", "-c", str(plant))
    parts.start("mes", "mes", "serve", "-c", str(plant))
    try:
        # telemetry: the contract on the broker, then the points in the time-series store
        def telemetry() -> dict[str, Any] | None:
            while not erp_inbox.empty():
                topic, msg = erp_inbox.get()
                if topic.endswith("/_telemetry"):
                    return msg
            return None

        batch: dict[str, Any] | None = None

        def got_batch() -> bool:
            nonlocal batch
            batch = telemetry()
            return batch is not None

        wait_for(got_batch, 30, "a _telemetry batch from press-01")
        assert batch is not None
        assert (batch["v"], batch["agent"], batch["device"]) == (1, "edge-e2e", "press-01")
        values = {v["tag"]: v for v in batch["values"]}
        assert values["spindle_speed"]["quality"] == "good"
        assert isinstance(values["cycle_count"]["value"], int)
        series = victoria.wait_export(
            f'{{__name__="telemetry_value",site="{cfg["plant"]["site"]}",tag="cycle_count"}}',
            lambda s: bool(s) and len(s[0]["values"]) >= 3,
            timeout=30,
        )
        assert series[0]["metric"]["device"] == "press-01"
        assert series[0]["values"] == sorted(series[0]["values"])  # a counter only grows

        # the order from the ERP, scanned through at the station, confirmed back to the ERP
        api = f"http://127.0.0.1:{mes_port}/api/v1"
        wait_for(lambda: port_open(mes_port), 60, "the MES API")
        enrol = subprocess.run(
            [sys.executable, "-m", "mes.cli", "mes", "station", "enrol", "ws-10", "-c", str(plant)],
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,
        )
        token = enrol.stdout.strip().splitlines()[-1]
        subprocess.run(
            [
                sys.executable,
                "-m",
                "mes.cli",
                "mes",
                "operator",
                "add",
                "E7",
                "Eve",
                "-c",
                str(plant),
            ],
            check=True,
            capture_output=True,
            cwd=tmp_path,
        )
        erp_id = f"PO-{uuid.uuid4().hex[:6]}"
        order = {
            "v": 1,
            "message_id": str(uuid.uuid4()),
            "type": "order.release",
            "order": {
                "erp_id": erp_id,
                "product": "BRKT-200",
                "quantity": 12,
                "unit": "pcs",
                "due_at": "2026-12-01T16:00:00Z",
                "priority": 2,
                "routing": "RT-BRKT-200",
            },
        }

        def work_order() -> str | None:
            for wo in _api(f"{api}/work-orders", token):
                if wo["erp_id"] == erp_id:
                    return str(wo["number"])
            return None

        sent: list[float] = []

        def released() -> bool:
            """The MES's port opens before its ERP inbox has subscribed (it connects in the
            background): until the work order is there, the ERP sends the release again every
            few seconds, as an ERP does that heard nothing; one message_id, one work order."""
            if work_order() is not None:
                return True
            if not sent or time.monotonic() - sent[-1] > 3:
                erp.publish(f"{root}/_erp/orders", json.dumps(order), qos=1).wait_for_publish(5)
                sent.append(time.monotonic())
            return False

        wait_for(released, 60, "the work order of the ERP order")
        number = work_order()
        answers = []
        for code in ("EMP:E7", f"WO:{number}/0010", "CMD:START", "QTY:12", "CMD:COMPLETE"):
            scan = {
                "station": "ws-10",
                "code": code,
                "event_id": str(uuid.uuid4()),
                "scanned_at": "2026-11-25T10:00:00Z",
            }
            answers.append(_api(f"{api}/scans", token, scan))
        assert [a["accepted"] for a in answers] == [True] * 5, answers

        confirmations: list[dict[str, Any]] = []

        def confirmed() -> bool:
            while not erp_inbox.empty():
                topic, msg = erp_inbox.get()
                if topic.endswith("_mes/confirmations") and msg.get("erp_id") == erp_id:
                    confirmations.append(msg)
            return sum(c["good"] for c in confirmations) == 12 and any(
                c["operation"] == "0010" for c in confirmations
            )

        wait_for(confirmed, 20, "the confirmations of operation 0010")
        assert {c["work_order"] for c in confirmations} == {number}
        assert all(c["type"] == "operation.confirmation" and c["v"] == 1 for c in confirmations)
        assert any("E7" in c["operators"] for c in confirmations)
    except BaseException:
        print(parts.logs())
        raise
    finally:
        erp.loop_stop()
        erp.disconnect()
    codes = parts.stop()
    assert codes == {"sim": 0, "edge": 0, "historian": 0, "mes": 0}, parts.logs()
