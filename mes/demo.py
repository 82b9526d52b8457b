"""`shopfloor demo`: a whole plant on one machine, each part a real process on real sockets.

Broker: the configured one if it answers, else a private Mosquitto on a free port when the binary
exists, else the embedded amqtt broker. Everything else talks to it exactly as in production.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import config as config_pkg
from config.loader import load_plant
from config.plant import PlantConfig
from uns.client import BrokerUnreachable, parse_broker_url, probe_protocol

DEMO_BADGE = "E1042"
DEMO_MOSQUITTO_CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000000
log_dest file {dir}/mosquitto.log
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(cond: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


@dataclass
class Part:
    name: str
    where: str
    proc: subprocess.Popen[bytes]


@dataclass
class Demo:
    plant_file: Path
    sim_file: Path
    workdir: Path
    parts: list[Part] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def spawn(self, name: str, where: str, args: list[str]) -> None:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.env}
        )
        self.parts.append(Part(name, where, proc))

    def cli(self, name: str, where: str, *args: str) -> None:
        self.spawn(name, where, [sys.executable, "-m", "mes.cli", *args])

    def start_broker(self, cfg: PlantConfig) -> str:
        try:
            probe_protocol(cfg.broker, timeout=2)
            return cfg.broker.url
        except BrokerUnreachable:
            pass
        port = parse_broker_url(cfg.broker.url).port
        if _port_open(port):
            port = _free_port()
        exe = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
        if exe:
            conf = self.workdir / "mosquitto.conf"
            conf.write_text(DEMO_MOSQUITTO_CONF.format(port=port, dir=self.workdir))
            self.spawn("broker", f"mqtt://127.0.0.1:{port} (mosquitto)", [exe, "-c", str(conf)])
        else:
            self.spawn(
                "broker",
                f"mqtt://127.0.0.1:{port} (embedded amqtt)",
                [sys.executable, "-m", "uns.embedded_broker", str(port)],
            )
        if not _wait(lambda: _port_open(port), 15):
            raise SystemExit(f"demo: the broker did not start on port {port}")
        return f"mqtt://127.0.0.1:{port}"

    def admin(self, *args: str) -> str:
        """Run an admin command of `shopfloor mes` against the demo's database; its output."""
        done = subprocess.run(
            [sys.executable, "-m", "mes.cli", "mes", *args, "-c", str(self.plant_file)],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"demo: shopfloor mes {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout.strip().splitlines()[-1]

    def stop(self) -> None:
        for part in reversed(self.parts):
            if part.proc.poll() is None:
                part.proc.send_signal(signal.SIGTERM)
        for part in reversed(self.parts):
            try:
                part.proc.wait(10)
            except subprocess.TimeoutExpired:
                part.proc.kill()
                part.proc.wait(5)


def banner(api: str, demo: Demo, station_tokens: dict[str, str]) -> str:
    lines = ["", "shopfloor demo is running:", ""]
    lines += [f"  {p.name:<10} {p.where}" for p in demo.parts]
    lines += ["", "  Workstation pages (each link enrols the browser as that station):"]
    lines += [f"    {api}/station/{ws}#token={tok}" for ws, tok in station_tokens.items()]
    lines += [
        "",
        "  Scan by typing into the page's scan field (a keyboard-wedge scanner does the same),",
        "  each followed by Enter, e.g.:",
        f"    EMP:{DEMO_BADGE}        log in operator {DEMO_BADGE}",
        "    WO:<work order>  select the job the ERP simulator released (see the page)",
        "    CMD:START  QTY:10  SCRAP:1:BURR  CMD:COMPLETE",
        f"  API docs: {api}/docs     Logs: {demo.workdir}/*.log",
        "",
        "  Ctrl-C stops every part.",
        "",
    ]
    return "\n".join(lines)


def run_demo(plant_file: Path | None = None, workdir: Path = Path("data/demo")) -> None:
    pkg_dir = Path(config_pkg.__file__).parent
    plant_file = plant_file or pkg_dir / "plant.yaml"
    cfg = load_plant(plant_file)
    workdir.mkdir(parents=True, exist_ok=True)
    demo = Demo(plant_file, pkg_dir / "simulators.yaml", workdir.resolve())
    stop_requested = False

    def on_signal(_sig: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        broker_url = demo.start_broker(cfg)
        demo.env = {
            "SHOPFLOOR_BROKER__URL": broker_url,
            "SHOPFLOOR_DATABASE__URL": f"sqlite:///{demo.workdir}/mes.db",
            "SHOPFLOOR_HISTORIAN__EMBEDDED_PATH": str(demo.workdir / "history.sqlite"),
            "SHOPFLOOR_EDGE__STATE_DIR": str(demo.workdir / "edge"),
            "SHOPFLOOR_EDGE__QUEUE__PATH": str(demo.workdir / "edge-queue.sqlite"),
            "SHOPFLOOR_MES__BOOTSTRAP_ADMIN_PASSWORD": os.environ.get(
                "SHOPFLOOR_MES__BOOTSTRAP_ADMIN_PASSWORD", "demo-admin"
            ),
            # the demo keeps API docs and metrics open (a plant sets them off or authenticated)
            "SHOPFLOOR_MES__SECURITY__DOCS": "open",
            "SHOPFLOOR_MES__SECURITY__OPENAPI": "open",
            "SHOPFLOOR_MES__SECURITY__METRICS": "open",
        }
        api = f"http://{cfg.mes.bind}:{cfg.mes.port}"
        if _port_open(cfg.mes.port):
            raise SystemExit(f"demo: port {cfg.mes.port} (mes.port) is in use; is a demo running?")
        demo.cli(
            "machines",
            f"Modbus TCP + OPC UA simulators ({demo.sim_file.name})",
            "sim",
            "run",
            "-c",
            str(demo.sim_file),
        )
        demo.cli("edge", f"edge agent {cfg.edge.agent_id}", "edge", "run", "-c", str(plant_file))
        hist = cfg.historian.url or f"embedded store {demo.workdir / 'history.sqlite'}"
        demo.cli("historian", hist, "historian", "run", "-c", str(plant_file))
        demo.cli("mes", f"MES API and station pages {api}", "mes", "serve", "-c", str(plant_file))
        mes = demo.parts[-1].proc
        if (
            not _wait(
                lambda: stop_requested or mes.poll() is not None or _http_ok(f"{api}/healthz"), 60
            )
            or mes.poll() is not None
        ):
            raise SystemExit(f"demo: the MES did not answer on {api} (see {demo.workdir}/mes.log)")
        demo.cli(
            "erp",
            "ERP simulator (releases a production order)",
            "sim",
            "erp",
            "-c",
            str(plant_file),
            "--orders",
            "1",
        )
        demo.admin("operator", "add", DEMO_BADGE, "Demo Operator")
        tokens = {w.id: demo.admin("station", "enrol", w.id) for w in cfg.workstations}
        print(banner(api, demo, tokens), flush=True)
        while not stop_requested:
            dead = [p for p in demo.parts if p.proc.poll() is not None and p.name != "erp"]
            if dead:
                print(f"demo: {dead[0].name} stopped (see {demo.workdir}/{dead[0].name}.log)")
                break
            time.sleep(0.5)
    finally:
        print("demo: stopping every part ...", flush=True)
        demo.stop()
        print("demo: stopped.", flush=True)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False
