"""The shipped broker config and ACL template, run for real: one login per service and agent,
each confined to its own part of the namespace (docs/contracts.md section 1).

Mosquitto answers a SUBSCRIBE outside a user's grants with a granted SUBACK and then delivers
nothing on it; a PUBLISH outside them gets PUBACK "Not authorized" (MQTT 5) and reaches no one.
Each refusal below is shown by a message that a permitted publish, sent after it on the same
connection, overtakes: the broker keeps one connection's messages in order."""

import threading
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from typer.testing import CliRunner

from mes.cli import app
from tests.deploy.shipped_broker import ROOT as REPO
from tests.deploy.shipped_broker import ShippedBroker, start
from tests.services.ports import wait_for

ROOT = "uns/v1/acme/plant1"
PRESS = f"{ROOT}/stamping/line1/cell1/press-01"
OVEN = f"{ROOT}/finishing/line1/oven1/oven-01"
PLANT = REPO / "config" / "plant.yaml"


@pytest.fixture(scope="module", params=["template", "generated"])
def broker(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ShippedBroker]:
    """The shipped template, and what `shopfloor config acl` writes for config/plant.yaml."""
    acl = None
    if request.param == "generated":
        out = CliRunner().invoke(app, ["config", "acl", "-c", str(PLANT)])
        assert out.exit_code == 0, out.output
        acl = out.output
    yield from start(tmp_path_factory.mktemp("shipped-broker"), acl)


class Session:
    """One user's connection: what it received and the PUBACK reason of what it published."""

    def __init__(self, broker: ShippedBroker, user: str, subscribe: tuple[str, ...] = ()) -> None:
        self.client, rc = broker.connect(user)
        assert not rc.is_failure, f"{user} cannot log in: {rc}"
        self.got: list[str] = []
        self.acks: dict[int, str] = {}
        self.client.on_message = lambda _c, _u, m: self.got.append(m.topic)
        self.client.on_publish = self._on_publish
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_a: subscribed.set()
        if subscribe:
            self.client.subscribe([(t, 1) for t in subscribe])
            wait_for(subscribed.is_set, 5, f"{user} subscribed")

    def _on_publish(self, _c: Any, _u: Any, mid: int, rc: Any, _p: Any) -> None:
        self.acks[mid] = str(rc)

    def publish(self, topic: str) -> str:
        """The broker's PUBACK reason for one QoS 1 message."""
        info: mqtt.MQTTMessageInfo = self.client.publish(topic, b'{"v":1}', qos=1)
        wait_for(lambda: info.mid in self.acks, 5, f"PUBACK for {topic}")
        return self.acks[info.mid]


@pytest.fixture
def viewer(broker: ShippedBroker) -> Session:
    return Session(broker, "viewer", ("uns/v1/#",))


def refused_then_allowed(who: Session, refused: str, allowed: str, watcher: Session) -> None:
    """`refused` is not authorized and reaches no one; `allowed`, sent after it, arrives."""
    assert who.publish(refused) == "Not authorized"
    assert who.publish(allowed) == "Success"
    wait_for(lambda: allowed in watcher.got, 5, f"{allowed} delivered")
    assert refused not in watcher.got


def reads_only(reader: Session, hidden: tuple[Session, str], shown: tuple[Session, str]) -> None:
    """`reader` receives `shown` but not `hidden`, which was published (and accepted) first."""
    assert hidden[0].publish(hidden[1]) == "Success"
    assert shown[0].publish(shown[1]) == "Success"
    wait_for(lambda: shown[1] in reader.got, 5, f"{shown[1]} reaches the reader")
    assert hidden[1] not in reader.got


def test_anonymous_and_wrong_passwords_are_refused(broker: ShippedBroker) -> None:
    _c, rc = broker.connect(None)
    assert rc.is_failure
    _c, rc = broker.connect("mes")
    assert not rc.is_failure
    _c, rc = broker.connect("nobody")  # unknown user (its password is not in the file)
    assert rc.is_failure


def test_edge_agent_publishes_only_its_own_devices(broker: ShippedBroker, viewer: Session) -> None:
    edge = Session(broker, "edge-1", (f"{PRESS}/_cmd/write", f"{ROOT}/_erp/orders"))
    ok = f"{PRESS}/_telemetry"
    for foreign in (
        f"{ROOT}/stamping/line1/cell1/press-99/_telemetry",  # another device in its cell
        f"{ROOT}/assembly/line2/cell9/robot-01/_telemetry",  # another area
        f"{ROOT}/_edge/edge-2/_status",  # another agent's status
        f"{PRESS}/_cmd/write",  # a write request to its own device
        f"{ROOT}/_mes/confirmations",
    ):
        refused_then_allowed(edge, foreign, ok, viewer)
    for allowed in (f"{PRESS}/_status", f"{OVEN}/_conditions", f"{PRESS}/temperature",
                    f"{OVEN}/_cmd/result", f"{ROOT}/_edge/edge-1/_status"):  # fmt: skip
        assert edge.publish(allowed) == "Success"
        wait_for(lambda t=allowed: t in viewer.got, 5, f"{allowed} delivered")
    # reads: its devices' write requests, nothing of the ERP
    erp, ops = Session(broker, "erp"), Session(broker, "ops")
    reads_only(edge, (erp, f"{ROOT}/_erp/orders"), (ops, f"{PRESS}/_cmd/write"))


def test_mes_reads_telemetry_and_never_writes_to_devices(
    broker: ShippedBroker, viewer: Session
) -> None:
    topics = (f"{ROOT}/_erp/orders", f"{ROOT}/+/+/+/+/_telemetry", f"{ROOT}/+/+/+/+/_cmd/write")
    mes = Session(broker, "mes", topics)
    refused_then_allowed(mes, f"{PRESS}/_cmd/write", f"{ROOT}/_mes/alarms", viewer)
    refused_then_allowed(mes, f"{ROOT}/_erp/orders", f"{ROOT}/_mes/holds", viewer)
    refused_then_allowed(mes, f"{PRESS}/_telemetry", f"{ROOT}/_mes/deadletter", viewer)
    # the MES derives machine states from telemetry (OEE); device writes are not its to read
    ops, edge = Session(broker, "ops"), Session(broker, "edge-1")
    reads_only(mes, (ops, f"{PRESS}/_cmd/write"), (edge, f"{PRESS}/_telemetry"))
    assert mes.got == [f"{PRESS}/_telemetry"]


def test_historian_reads_telemetry_and_publishes_nothing(
    broker: ShippedBroker, viewer: Session
) -> None:
    share = f"$share/historian/{ROOT}/+/+/+/+/_telemetry"
    historian = Session(broker, "historian", (share, f"{ROOT}/_erp/orders"))
    assert historian.publish(f"{ROOT}/_mes/alarms") == "Not authorized"
    assert historian.publish(f"{PRESS}/_telemetry") == "Not authorized"
    erp, edge = Session(broker, "erp"), Session(broker, "edge-1")
    reads_only(historian, (erp, f"{ROOT}/_erp/orders"), (edge, f"{OVEN}/_telemetry"))
    assert historian.got == [f"{OVEN}/_telemetry"]


def test_historian_reads_the_kpis_the_mes_publishes(broker: ShippedBroker, viewer: Session) -> None:
    share = f"$share/historian/{ROOT}/_mes/kpi"
    historian = Session(broker, "historian", (share,))
    erp, mes = Session(broker, "erp"), Session(broker, "mes")
    assert erp.publish(f"{ROOT}/_mes/kpi") == "Not authorized"
    assert mes.publish(f"{ROOT}/_mes/kpi") == "Success"
    wait_for(lambda: historian.got == [f"{ROOT}/_mes/kpi"], 5, "the KPI reaches the historian")


def test_erp_sends_orders_and_cannot_forge_the_mes(broker: ShippedBroker, viewer: Session) -> None:
    erp = Session(broker, "erp", (f"{ROOT}/_mes/confirmations",))
    refused_then_allowed(erp, f"{ROOT}/_mes/confirmations", f"{ROOT}/_erp/acks", viewer)
    refused_then_allowed(erp, f"{ROOT}/_erp/orders/rejected", f"{ROOT}/_erp/orders", viewer)
    refused_then_allowed(erp, f"{PRESS}/_cmd/write", f"{ROOT}/_erp/acks", viewer)
    mes = Session(broker, "mes")
    assert mes.publish(f"{ROOT}/_mes/confirmations") == "Success"
    wait_for(lambda: f"{ROOT}/_mes/confirmations" in erp.got, 5, "confirmation reaches the ERP")


def test_viewer_reads_and_publishes_nothing(broker: ShippedBroker, viewer: Session) -> None:
    assert viewer.publish(f"{ROOT}/_erp/orders") == "Not authorized"
    assert viewer.publish(f"{PRESS}/_cmd/write") == "Not authorized"


def test_the_template_grants_match_the_contract_topics() -> None:
    """Every topic the template grants is one of docs/contracts.md section 1 (or a documented
    extension: condition events, per-tag topics, compact telemetry), never the whole namespace
    for a writer."""
    text = (REPO / "config" / "mosquitto.acl.example").read_text()
    grants = [ln.split() for ln in text.splitlines() if ln.startswith(("topic", "pattern"))]
    writes = [g[-1] for g in grants if g[1] in ("write", "readwrite")]
    assert writes
    assert not any(t.endswith("#") for t in writes)
    suffixes = {"_telemetry", "_telemetry/compact", "_status", "_cmd/result", "_cmd/write", "+",
                "_erp/orders", "_erp/acks", "_erp/orders/rejected", "_mes/confirmations",
                "_mes/alarms", "_mes/holds", "_mes/kpi", "_mes/deadletter"}  # fmt: skip
    for topic in writes:
        assert any(topic.endswith("/" + s) for s in suffixes), topic
