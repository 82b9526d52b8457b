"""`shopfloor demo`: a whole plant on one machine, each part a real process on real sockets.

Broker: the configured one if it answers, else a private Mosquitto on a free port when the binary
exists, else the embedded amqtt broker (both anonymous, on loopback only). Everything else talks
to it exactly as in production.

A rerun in the same directory picks up where the last one stopped: the seeding is idempotent,
and the demo's secrets (the admin password, the station tokens) are made on the first run,
kept in `{workdir}/secrets.json` (mode 0600) and shown in the banner of that first run only.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import config as config_pkg
from config.loader import load_plant
from config.plant import PlantConfig
from simulators.floor import SIM_OPERATORS
from uns.client import BrokerUnreachable, parse_broker_url, probe_protocol

#: the badge of the person trying the demo (the banner and the README say to scan it); no
#: simulated operator uses it, so scanning it logs nobody else out
DEMO_BADGE = "E1042"
DEMO_OPERATOR = "Demo Operator"
#: the operators `shopfloor sim floor` plays, one per workstation in the plant file's order
OPERATORS = SIM_OPERATORS
#: the demo's order book: an order of this many units every ERP_EVERY_S seconds, due
#: DUE_MINUTES (x1, x2, x3 in turn) after its release; the operators step every FLOOR_STEP_S:
#: the board and the owner's page fill within minutes, some orders on time, some late
ORDER_QUANTITY = 30
ERP_EVERY_S = 120
DUE_MINUTES = 2
FLOOR_STEP_S = 2
SECRETS_FILE = "secrets.json"
ADMIN_PASSWORD_ENV = "SHOPFLOOR_MES__BOOTSTRAP_ADMIN_PASSWORD"
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
class DemoSecrets:
    """What the demo made up for itself; `path` holds it (mode 0600)."""

    path: Path
    admin_password: str | None
    station_tokens: dict[str, str]
    #: the TV wall's read-only display token (the board's `?tv=1` link)
    display_token: str | None = None
    #: made on this run: the banner shows the admin password (and never again)
    new: bool = False
    #: the user gave their own admin password in the environment (used, never stored or shown)
    given: bool = False

    @classmethod
    def load_or_create(cls, workdir: Path, given_password: str | None) -> "DemoSecrets":
        """The kept secrets, or new ones. A password given in the environment is the
        user's own: it is used, never stored or shown."""
        path = workdir / SECRETS_FILE
        kept = cls(path, None, {}, new=True)
        if path.exists():
            path.chmod(0o600)
            try:
                data = json.loads(path.read_text())
                kept = cls(path, data.get("admin_password"), dict(data["station_tokens"]))
                kept.display_token = data.get("display_token")
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                print(f"demo: {path} is unreadable ({exc!r}); making new secrets", flush=True)
        kept.given = given_password is not None
        if not kept.given and kept.admin_password is None:
            kept.admin_password, kept.new = secrets.token_urlsafe(12), True
        kept.save()
        return kept

    def save(self) -> None:
        data = {
            "admin_password": self.admin_password,
            "station_tokens": self.station_tokens,
            "display_token": self.display_token,
        }
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1)
        self.path.chmod(0o600)


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

    def station_tokens(self, api: str, stations: list[str], kept: DemoSecrets) -> dict[str, str]:
        """A working token per station: the kept one while the MES still accepts it, else a
        newly enrolled one (kept for the next run)."""
        tokens = {}
        for ws in stations:
            token = kept.station_tokens.get(ws)
            if token is None or not _token_works(api, token):
                token = self.admin("station", "enrol", ws)
            tokens[ws] = token
        kept.station_tokens = tokens
        kept.save()
        return tokens

    def display_token(self, api: str, kept: DemoSecrets) -> str:
        """A working display token for the TV-wall link (kept for the next run)."""
        token = kept.display_token
        if token is None or not _token_works(api, token, "/api/v1/board"):
            token = self.admin("token", "create", "demo-tv", "--role", "display")
        kept.display_token = token
        kept.save()
        return token

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


def _shown(path: Path) -> str:
    """`path` as short as it is unambiguous from the current directory."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def history_command(workdir: Path) -> str:
    """The exact command that reads the demo's history back (the `shopfloor` of this venv)."""
    exe = _shown(Path(sys.executable).parent / "shopfloor")
    store = _shown(workdir / "history.sqlite")
    return f"{exe} history press-01.temperature --since 10m --store {store}"


def banner(
    api: str,
    demo: Demo,
    station_tokens: dict[str, str],
    broker: str,
    kept: DemoSecrets,
    display_token: str | None = None,
    free: Sequence[str] = (),
) -> str:
    lines = ["", "shopfloor demo is running:", ""]
    if not any(p.name == "broker" for p in demo.parts):
        lines.append(f"  {'broker':<10} {broker} (yours: it answered at the configured URL)")
    lines += [f"  {p.name:<10} {p.where}" for p in demo.parts]
    if any(p.name == "broker" for p in demo.parts):
        lines.append("             (the demo's broker: anonymous, on 127.0.0.1 only)")
    lines += ["", "  Workstation pages (each link enrols the browser as that station):"]
    lines += [f"    {api}/station/{ws}#token={tok}" for ws, tok in station_tokens.items()]
    if free:
        lines.append(f"    (no simulated operator at {', '.join(free)}: they are yours)")
    lines += ["", f"  Supervisor board: {api}/board   Owner's page: {api}/owner  (log in)"]
    if display_token:
        lines.append(f"  TV wall (read-only): {api}/board?tv=1#token={display_token}")
    lines += [
        "",
        "  Scan anywhere on the page with a keyboard-wedge scanner (or 'Type a code by hand'),",
        "  each followed by Enter, e.g.:",
        f"    EMP:{DEMO_BADGE}        log in operator {DEMO_BADGE}",
        "    WO:<work order>  select the job the ERP simulator released (see the page)",
        "    CMD:START  QTY:10  SCRAP:1:BURR  CMD:COMPLETE",
        f"  API docs: {api}/docs     Logs: {_shown(demo.workdir)}/*.log",
        f"  Admin: user admin, {_admin_line(kept)}",
        f"  History: {history_command(demo.workdir)}",
        "",
        "  Ctrl-C stops every part.",
        "",
    ]
    return "\n".join(lines)


def _admin_line(kept: DemoSecrets) -> str:
    where = f"{_shown(kept.path)} (mode 0600)"
    if kept.given or kept.admin_password is None:
        return f"password from {ADMIN_PASSWORD_ENV}"
    if kept.new:
        return f"password {kept.admin_password}  (shown once; kept in {where})"
    return f"password in {where}"


def simulated_operators(workstations: Sequence[str], free: Sequence[str]) -> list[tuple[str, str]]:
    """(workstation, badge) of each simulated operator: one per workstation in the plant file's
    order, none at the `free` ones (a person works there). SystemExit naming an unknown one."""
    unknown = sorted(set(free) - set(workstations))
    if unknown:
        raise SystemExit(
            f"demo: --free {', '.join(unknown)}: no such workstation "
            f"(the plant has {', '.join(workstations)})"
        )
    played = zip(workstations, (badge for badge, _ in OPERATORS), strict=False)
    return [(ws, badge) for ws, badge in played if ws not in free]


def run_demo(
    plant_file: Path | None = None, workdir: Path = Path("data/demo"), free: Sequence[str] = ()
) -> None:
    pkg_dir = Path(config_pkg.__file__).parent
    plant_file = plant_file or pkg_dir / "plant.yaml"
    cfg = load_plant(plant_file)
    played = simulated_operators([w.id for w in cfg.workstations], free)
    workdir.mkdir(parents=True, exist_ok=True)
    demo = Demo(plant_file, pkg_dir / "simulators.yaml", workdir.resolve())
    given_password = os.environ.get(ADMIN_PASSWORD_ENV)
    kept = DemoSecrets.load_or_create(demo.workdir, given_password)
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
            ADMIN_PASSWORD_ENV: given_password or kept.admin_password or "",
            # the demo keeps API docs and metrics open (a plant sets them off or authenticated)
            "SHOPFLOOR_MES__SECURITY__DOCS": "open",
            "SHOPFLOOR_MES__SECURITY__OPENAPI": "open",
            "SHOPFLOOR_MES__SECURITY__METRICS": "open",
        }
        api = f"http://{cfg.mes.bind}:{cfg.mes.port}"
        if _port_open(cfg.mes.port):
            raise SystemExit(f"demo: port {cfg.mes.port} (mes.port) is in use; is a demo running?")
        # the MES first: it hears the machines' first values (the edge sends changes only, so
        # a state that holds from the start would otherwise stay unknown to it)
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
        demo.cli(
            "erp",
            f"ERP simulator (an order every {ERP_EVERY_S} s, due in minutes)",
            "sim",
            "erp",
            "-c",
            str(plant_file),
            *("--orders", "2", "--quantity", str(ORDER_QUANTITY)),
            *("--every", str(ERP_EVERY_S), "--due-minutes", str(DUE_MINUTES)),
        )
        for badge, name in ((DEMO_BADGE, DEMO_OPERATOR), *OPERATORS):
            demo.admin("operator", "add", badge, name, "--exist-ok")
        tokens = demo.station_tokens(api, [w.id for w in cfg.workstations], kept)
        tv = demo.display_token(api, kept)
        if played:
            demo.cli(
                "floor",
                f"operators at {', '.join(ws for ws, _ in played)} "
                "(take jobs, report, scrap, give stop reasons)",
                "sim",
                "floor",
                "-c",
                str(plant_file),
                *("--api", api, "--secrets", str(kept.path), "--every", str(FLOOR_STEP_S)),
                *(a for ws, badge in played for a in ("--station", ws, "--badge", badge)),
            )
        print(banner(api, demo, tokens, broker_url, kept, tv, free), flush=True)
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


def _token_works(api: str, token: str, path: str = "/api/v1/work-orders") -> bool:
    req = urllib.request.Request(f"{api}{path}", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False
