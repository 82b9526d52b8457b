"""`shopfloor demo` brings up the whole plant as real processes and stops them all on Ctrl-C."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import typer
from sqlmodel import Session

import config as config_pkg
from config.loader import load_plant
from config.plant import Broker, PlantConfig
from historian.points import Point
from historian.stores import EmbeddedStore
from mes.demo import DEMO_BADGE, OPERATORS, Demo, DemoSecrets, banner
from mes.performance.models import DowntimeEvent
from simulators.cli import app as sim_app
from simulators.floor import Floor, http_call, operators_for
from tests.mes.orders_support import intake, release_message
from tests.mes.scan_harness import add_user, bearer, served
from tests.services.ports import free_port, port_open, wait_for
from uns.client import probe_protocol

BOSS = {"username": "boss", "password": "boss-password-1"}

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


class DemoRun:
    """`shopfloor demo` in `cwd` until `stop()`; `banner` once it is up."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mes.cli", "demo"],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.out: list[str] = []
        self.reader = threading.Thread(
            target=lambda: self.out.extend(iter(self.proc.stdout.readline, ""))  # type: ignore[union-attr]
        )
        self.reader.start()

    def banner(self) -> str:
        """The demo's output once it printed its banner; fails at once, with the output, when
        the demo exits first (a loaded machine may take minutes to start it)."""
        up = lambda: any("Ctrl-C stops" in line for line in self.out)  # noqa: E731
        try:
            wait_for(lambda: up() or self.proc.poll() is not None, 240, "the demo banner")
        except TimeoutError:
            raise AssertionError("no demo banner in 240 s:\n" + "".join(self.out[-60:])) from None
        if not up():
            self.reader.join(5)  # the rest of what it printed
        assert up(), f"the demo exited ({self.proc.returncode}):\n" + "".join(self.out[-60:])
        return "".join(self.out)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(45)
        self.reader.join(5)
        assert code == 0, "".join(self.out)
        assert "demo: stopped." in "".join(self.out)


def _post(base: str, path: str, auth: dict[str, str] | None, body: Any) -> Any:
    req = urllib.request.Request(
        f"{base}{path}",
        data=json.dumps(body).encode() if body is not None else b"",
        headers={"Content-Type": "application/json", **(auth or {})},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def _get(base: str, path: str, auth: dict[str, str]) -> Any:
    req = urllib.request.Request(f"{base}{path}", headers=auth)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def _login(api: str, token: str) -> None:
    login = _http(
        f"{api}/scans",
        token,
        {"station": "ws-10", "code": "EMP:E1042", "event_id": str(uuid.uuid4())},
    )
    assert login["accepted"] is True


@pytest.mark.slow
def test_demo_runs_the_plant_stops_cleanly_and_reruns(tmp_path: Path) -> None:
    if any(port_open(p) for p in DEMO_PORTS):
        pytest.skip("a demo (or something else) already holds the demo ports")
    broker_port = free_port()  # nothing answers there: the demo must start its own broker
    env = {**os.environ, "SHOPFLOOR_BROKER__URL": f"mqtt://127.0.0.1:{broker_port}"}
    env.pop("SHOPFLOOR_MES__BOOTSTRAP_ADMIN_PASSWORD", None)
    api = "http://127.0.0.1:8000/api/v1"
    secrets_file = tmp_path / "data" / "demo" / "secrets.json"
    demo = DemoRun(tmp_path, env)
    try:
        banner = demo.banner()
        assert f"broker     mqtt://127.0.0.1:{broker_port} (mosquitto)" in banner
        assert "anonymous, on 127.0.0.1 only" in banner
        token = banner.split("/station/ws-10#token=", 1)[1].split()[0]
        tv = banner.split("/board?tv=1#token=", 1)[1].split()[0]
        assert "Owner's page: http://127.0.0.1:8000/owner" in banner
        password = banner.split("Admin: user admin, password ", 1)[1].split()[0]
        assert "(shown once; kept in data/demo/secrets.json (mode 0600))" in banner
        assert secrets_file.stat().st_mode & 0o777 == 0o600
        assert json.loads(secrets_file.read_text())["admin_password"] == password
        assert "demo-admin" not in banner
        admin = json.loads(
            urllib.request.urlopen(
                urllib.request.Request(
                    f"{api}/auth/login",
                    data=json.dumps({"username": "admin", "password": password}).encode(),
                    headers={"Content-Type": "application/json"},
                ),
                timeout=5,
            ).read()
        )
        assert admin["role"] == "admin"
        _login(api, token)
        assert [t["station"] for t in _http(f"{api}/board", tv)["tiles"]] == ["ws-10", "ws-20"]

        def released_order() -> list:
            return [w for w in _http(f"{api}/work-orders", token) if w["product"] == "BRKT-200"]

        wait_for(released_order, 30, "the ERP simulator's order as a work order")
        # the banner's history command, exactly as printed, from the directory it was printed in
        command = banner.split("History: ", 1)[1].splitlines()[0].split()
        command[command.index("press-01.temperature")] = "press-01.cycle_count"
        command[command.index("10m")] = "5m"
        assert command[-2:] == ["--store", "data/demo/history.sqlite"]

        def press_history() -> bool:
            done = subprocess.run(
                command, cwd=tmp_path, capture_output=True, text=True, check=False
            )
            return done.returncode == 0 and "press-01" in done.stdout and "good" in done.stdout

        wait_for(press_history, 30, "press telemetry in the embedded historian")
    finally:
        demo.stop()
    wait_for(lambda: not any(port_open(p) for p in (*DEMO_PORTS, broker_port)), 10, "ports freed")

    again = DemoRun(tmp_path, env)  # the same directory: everything seeded already
    try:
        banner = again.banner()
        assert password not in banner
        assert "Admin: user admin, password in data/demo/secrets.json (mode 0600)" in banner
        assert banner.split("/station/ws-10#token=", 1)[1].split()[0] == token  # still valid
        assert banner.split("/board?tv=1#token=", 1)[1].split()[0] == tv
        _login(api, token)
    finally:
        again.stop()
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


def test_the_readmes_history_command_works_as_printed(tmp_path: Path) -> None:
    """From a fresh directory holding only the venv and the demo's store, as after `make demo`."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    (line,) = {
        x.strip() for x in readme.splitlines() if x.startswith(".venv/bin/shopfloor history")
    }
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "shopfloor").symlink_to(Path(sys.executable).parent / "shopfloor")
    store_path = tmp_path / "data" / "demo" / "history.sqlite"
    store_path.parent.mkdir(parents=True)
    store = EmbeddedStore(store_path)
    now = int(time.time() * 1000)
    temperature = [
        Point(now - 1000 * i, "stamping/line1/cell1", "press-01", "temperature", 60.0 + i, None, 0)
        for i in range(3)
    ]
    store.write(b"", temperature)
    store.close()
    done = subprocess.run(line.split(), cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()
    assert len(rows) == 3
    assert all("press-01" in r and "temperature" in r and "good" in r for r in rows)
    assert [float(r.split()[3]) for r in rows] == [62.0, 61.0, 60.0]


def test_the_person_trying_the_demo_scans_a_badge_no_simulated_operator_has(tmp_path: Path) -> None:
    """A badge scan logs its operator in, or out when logged in already: the badge the README
    and the banner tell a person to scan is none of the floor simulator's operators."""
    simulated = {badge for badge, _ in OPERATORS}
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    kept = DemoSecrets.load_or_create(tmp_path, None)
    shown = banner("http://127.0.0.1:8000", Demo(tmp_path, tmp_path, tmp_path), {}, "", kept)
    for text in (readme, shown):
        told = set(re.findall(r"EMP:([A-Za-z0-9][A-Za-z0-9._-]*)", text))
        assert told == {DEMO_BADGE}
    assert DEMO_BADGE not in simulated
    floor = typer.main.get_command(sim_app).commands["floor"]  # type: ignore[attr-defined]
    (badges,) = [p.default for p in floor.params if p.name == "badges"]
    assert set(badges) == simulated  # `shopfloor sim floor` plays the same ones by default


def test_demo_secrets_are_made_once_kept_private_and_never_replaced(tmp_path: Path) -> None:
    first = DemoSecrets.load_or_create(tmp_path, None)
    assert first.new
    assert first.admin_password is not None
    assert len(first.admin_password) >= 16
    assert first.path.stat().st_mode & 0o777 == 0o600
    first.station_tokens = {"ws-10": "sf_x"}
    first.save()
    again = DemoSecrets.load_or_create(tmp_path, None)
    assert not again.new
    assert (again.admin_password, again.station_tokens) == (first.admin_password, {"ws-10": "sf_x"})
    yours = DemoSecrets.load_or_create(tmp_path, "my-own-password")  # from the environment
    assert yours.given
    assert "my-own-password" not in first.path.read_text()
    assert json.loads(first.path.read_text())["admin_password"] == first.admin_password
    first.path.write_text("{broken")
    assert DemoSecrets.load_or_create(tmp_path, None).new


def test_demo_floor_fills_the_board_and_the_owner_page(
    tmp_path: Path, mosquitto_factory: Any
) -> None:
    """The demo's operators (`shopfloor sim floor`) on the demo plant's MES: orders due in
    the range run to completion, one on time and one late, with scrap by reason; a stop
    gets a reason; one order stays open (WIP). The board and every owner's figure are then
    non-empty. No machines here (fast): the stop is a row as the performance module writes
    it, and the OEE of the open day is that of units without data."""
    broker = mosquitto_factory().start()
    raw = load_plant(Path(config_pkg.__file__).parent / "plant.yaml").model_dump()
    raw.update(database={"url": f"sqlite:///{tmp_path}/mes.db"}, broker={"url": broker.url})
    cfg = PlantConfig.model_validate(raw)
    now = datetime.now(UTC)
    with served(cfg) as (base, engine):
        add_user(engine, "boss", "supervisor", "boss-password-1")
        boss = bearer(_post(base, "/api/v1/auth/login", None, BOSS)["access_token"])
        add_user(engine, "chief", "admin", "chief-password-1")
        admin = {"username": "chief", "password": "chief-password-1"}
        admin_auth = bearer(_post(base, "/api/v1/auth/login", None, admin)["access_token"])
        tokens = {}
        for (badge, name), ws in zip(OPERATORS, ("ws-10", "ws-20"), strict=True):
            _post(base, "/api/v1/operators", admin_auth, {"badge": badge, "name": name})
            tokens[ws] = _post(base, f"/api/v1/stations/{ws}/enrol", admin_auth, None)[
                "access_token"
            ]
        # late (due before it can be done), on time, and one left open
        for n, due in ((1, now - timedelta(minutes=5)), (2, now + timedelta(hours=1))):
            intake(engine, release_message(f"PO-{n}", 30, due_at=due.isoformat()))
        with Session(engine) as s:  # a machine stop of ws-10 as the performance module writes it
            s.add(
                DowntimeEvent(
                    work_unit="ws-10",
                    start=now - timedelta(minutes=20),
                    end=now - timedelta(minutes=12),
                    state="fault",
                )
            )
            s.commit()
        reasons = [r.code for g in cfg.performance.reasons for r in g.reasons]
        ops = operators_for(
            ["ws-10", "ws-20"], [b for b, _ in OPERATORS], [r.code for r in cfg.scrap_reasons]
        )
        floor = Floor(http_call(base), tokens, ops, reasons)

        def completed() -> int:
            orders = _get(base, "/api/v1/work-orders", boss)
            return sum(o["status"] in ("COMPLETED", "CLOSED") for o in orders)

        for _ in range(120):  # each step is one round of synchronous scans: no waiting
            floor.step()
            if completed() == 2:
                break
        assert completed() == 2
        intake(engine, release_message("PO-3", 12, due_at=(now + timedelta(hours=2)).isoformat()))
        floor.step()  # ws-10 takes the new order: work in progress

        window = {
            "period": "range",
            "start": (now - timedelta(hours=1)).isoformat(),
            "end": (now + timedelta(hours=3)).isoformat(),
            "lang": "zh-CN",
        }
        s = _get(base, f"/api/v1/dashboard/summary?{urlencode(window)}", boss)
        assert (s["on_time"]["due"], s["on_time"]["on_time"], s["on_time"]["late"]) == (2, 1, 1)
        assert s["output"]["planned"] == 72  # 30 + 30 + 12
        assert 0 < s["output"]["good"] < 60  # scrap at both operations
        assert s["wip"]
        assert s["wip"][0]["name"] == "冲压"
        assert s["scrap_by_reason"]
        assert {r["name"] for r in s["scrap_by_reason"]} <= {"毛刺", "凹痕", "划伤"}
        assert s["scrap_by_product"][0]["name"] == "支架 200"
        assert {d["line"] for d in s["oee_trend"]} == {"stamping/line1", "finishing/line1"}
        assert s["lead_time"]["orders"] == 2
        (stop,) = s["downtime_top"]
        assert stop["reason"] in reasons
        assert stop["seconds"] == 480
        board = _get(base, "/api/v1/board", boss)
        assert [t["station"] for t in board["tiles"]] == ["ws-10", "ws-20"]
        assert board["tiles"][0]["operators"] == [OPERATORS[0][1]]
        assert board["tiles"][0]["job"]["work_order"] == "WO-000003"
        states = {o["work_order"]: o["state"] for o in board["orders"]}
        assert states["WO-000003"] == "RUNNING"
        assert {states["WO-000001"], states["WO-000002"]} <= {"COMPLETED", "CLOSED"}
