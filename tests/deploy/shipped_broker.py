"""Mosquitto run with the shipped config/mosquitto.conf and ACL template, on free ports, with
certificates made by the project's own CA (`shopfloor pki`) and one login per user."""

import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from config.pki import init_ca, issue
from tests.services.ports import free_port, port_open, wait_for

ROOT = Path(__file__).resolve().parents[2]
USERS = ("edge-1", "mes", "historian", "erp", "ops", "viewer")


def password(user: str) -> str:
    return f"pw-{user}-7"


@dataclass
class ShippedBroker:
    port: int
    tls_port: int
    pki: Path
    clients: list[mqtt.Client] = field(default_factory=list)

    def connect(
        self, user: str | None, *, tls: bool = False, cert: str | None = None
    ) -> tuple[mqtt.Client, Any]:
        """A connected MQTT 5 client and its CONNACK reason code."""
        done, rc = threading.Event(), []
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"t-{user}-{len(self.clients)}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if user:
            c.username_pw_set(user, password(user))
        if tls:
            certfile = str(self.pki / f"{cert}.crt") if cert else None
            keyfile = str(self.pki / f"{cert}.key") if cert else None
            c.tls_set(ca_certs=str(self.pki / "ca.crt"), certfile=certfile, keyfile=keyfile)

        def on_connect(_c: Any, _u: Any, _f: Any, code: Any, _p: Any = None) -> None:
            rc.append(code)
            done.set()

        c.on_connect = on_connect
        c.connect("127.0.0.1", self.tls_port if tls else self.port)
        c.loop_start()
        self.clients.append(c)
        wait_for(done.is_set, 10, f"CONNACK for {user}")
        return c, rc[0]


def start(workdir: Path, acl: str | None = None) -> Iterator[ShippedBroker]:
    """The broker with the shipped ACL template, or with `acl` (e.g. `shopfloor config acl`)."""
    passwd_tool = shutil.which("mosquitto_passwd")
    assert passwd_tool, "mosquitto_passwd is needed (apt-get install mosquitto)"
    pki = workdir / "certs"
    init_ca(pki)
    issue(pki, "broker", ["localhost"], ["127.0.0.1"])
    issue(pki, "edge-1", [], [])
    passwd = workdir / "passwd"
    passwd.touch()
    for user in USERS:
        subprocess.run([passwd_tool, "-b", str(passwd), user, password(user)], check=True)
    if acl is None:
        shutil.copy(ROOT / "config" / "mosquitto.acl.example", workdir / "acl")
    else:
        (workdir / "acl").write_text(acl)
    port, tls_port = free_port(), free_port()
    conf = (ROOT / "config" / "mosquitto.conf").read_text()
    assert "listener 1883\n" in conf
    assert "listener 8883\n" in conf
    conf = (
        conf.replace("listener 1883\n", f"listener {port} 127.0.0.1\n")
        .replace("listener 8883\n", f"listener {tls_port} 127.0.0.1\n")
        .replace("/mosquitto/config/", f"{workdir}/")
        .replace("/mosquitto/data/", f"{workdir}/")
        .replace("log_dest stdout", f"log_dest file {workdir}/log\nuser root")
    )
    (workdir / "mosquitto.conf").write_text(conf)
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([exe, "-c", str(workdir / "mosquitto.conf")])
    broker = ShippedBroker(port, tls_port, pki)
    try:
        wait_for(lambda: port_open(port) and port_open(tls_port), 10, "the shipped broker")
        yield broker
    finally:
        for c in broker.clients:
            c.disconnect()
            c.loop_stop()
        proc.terminate()
        proc.wait(10)
