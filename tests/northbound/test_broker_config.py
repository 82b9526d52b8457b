"""config/mosquitto.conf and the ACL example, run for real: logins required, users confined."""

import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.services.ports import free_port, port_open, wait_for

ROOT = Path(__file__).resolve().parents[2]
USERS = {"edge-1": "pw-edge", "erp": "pw-erp", "viewer": "pw-view"}
TELEMETRY = "uns/v1/acme/plant1/stamping/line1/cell1/press-01/_telemetry"


@pytest.fixture
def broker(tmp_path: Path) -> Any:
    passwd_tool = shutil.which("mosquitto_passwd")
    if passwd_tool is None:
        pytest.skip("mosquitto_passwd not installed")
    port = free_port()
    passwd = tmp_path / "passwd"
    passwd.touch()
    for user, pw in USERS.items():
        subprocess.run([passwd_tool, "-b", str(passwd), user, pw], check=True)
    shutil.copy(ROOT / "config" / "mosquitto.acl.example", tmp_path / "acl")
    conf = (ROOT / "config" / "mosquitto.conf").read_text()
    conf = (
        conf.replace("listener 1883", f"listener {port} 127.0.0.1")
        .replace("/mosquitto/config/", f"{tmp_path}/")
        .replace("/mosquitto/data/", f"{tmp_path}/")
        .replace("log_dest stdout", f"log_dest file {tmp_path}/log\nuser root")
    )
    (tmp_path / "mosquitto.conf").write_text(conf)
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([exe, "-c", str(tmp_path / "mosquitto.conf")])
    wait_for(lambda: port_open(port), 10, "broker with the shipped config")
    yield port
    proc.terminate()
    proc.wait(10)


def connect(port: int, user: str | None, pw: str | None) -> tuple[mqtt.Client, list[Any]]:
    result: list[Any] = []
    done = threading.Event()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{user}")
    if user:
        c.username_pw_set(user, pw)

    def on_connect(cl: Any, u: Any, f: Any, rc: Any, p: Any = None) -> None:
        result.append(rc)
        done.set()

    c.on_connect = on_connect
    c.connect("127.0.0.1", port)
    c.loop_start()
    wait_for(done.is_set, 10, f"CONNACK for {user}")
    return c, result


def test_shipped_broker_config_confines_users(broker: int) -> None:
    anon, rc = connect(broker, None, None)
    assert rc[0].is_failure
    anon.loop_stop()
    got: dict[str, list[str]] = {"viewer": [], "erp": []}
    subs = {}
    for user in ("viewer", "erp"):
        c, rc = connect(broker, user, USERS[user])
        assert not rc[0].is_failure
        subscribed = threading.Event()
        c.on_subscribe = lambda *a, ev=subscribed: ev.set()
        c.on_message = lambda cl, u, m, user=user: got[user].append(m.topic)
        c.subscribe("uns/v1/#", qos=1)
        wait_for(subscribed.is_set, 5, f"{user} subscribed")
        subs[user] = c
    edge, rc = connect(broker, "edge-1", USERS["edge-1"])
    assert not rc[0].is_failure
    edge.publish(TELEMETRY, b'{"v":1}', qos=1).wait_for_publish(5)
    edge.publish("uns/v1/acme/plant1/_erp/orders", b"{}", qos=1).wait_for_publish(5)
    subs["erp"].publish("uns/v1/acme/plant1/_erp/acks", b'{"v":1}', qos=1).wait_for_publish(5)
    wait_for(lambda: len(got["viewer"]) == 2, 5, "viewer sees telemetry and the ERP ack")
    assert got["viewer"] == [TELEMETRY, "uns/v1/acme/plant1/_erp/acks"]  # edge may not order
    assert got["erp"] == []  # the ERP reads neither telemetry nor its own acks
    for c in (*subs.values(), edge):
        c.disconnect()
        c.loop_stop()
