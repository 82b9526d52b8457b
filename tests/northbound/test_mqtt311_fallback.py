"""Against a broker that only speaks MQTT 3.1.1 (the embedded amqtt of the demo): the probe
falls back, the publisher delivers, the historian uses a plain subscription."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from config.plant import Broker
from historian.service import Historian
from historian.stores import query_history
from tests.northbound.helpers import batch, northbound
from tests.northbound.test_historian import historian_cfg
from tests.services.ports import free_port, port_open, wait_for
from uns.client import probe_protocol


@pytest.fixture
def amqtt_url() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uns.embedded_broker", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: port_open(port), 20, "embedded amqtt broker")
    yield f"mqtt://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


def test_publisher_and_historian_on_a_311_broker(amqtt_url: str, tmp_path: Path) -> None:
    protocol = probe_protocol(Broker(url=amqtt_url))
    assert protocol is MQTTProtocolVersion.MQTTv311
    db = tmp_path / "h.sqlite"
    cfg = historian_cfg(amqtt_url, tmp_path, embedded_path=str(db), client_id="hist-311")
    hist = Historian(cfg, protocol)
    assert not hist.topic.startswith("$share/")
    hist.start()
    wait_for(lambda: hist.stats.subscribed, 10, "historian subscribed")
    nb = northbound(amqtt_url, str(tmp_path / "q.sqlite"))
    nb.protocol = protocol
    nb.start()
    for i in range(5):
        b = batch("press-01", 2, base=i)
        for r in b.readings:
            r.ts += i  # distinct timestamps per poll
        nb.put(b)
    wait_for(lambda: nb.stats.values_published == 10, 15, "10 values acknowledged")
    wait_for(lambda: hist.stats.points_written == 10, 15, "10 points stored")
    nb.stop()
    hist.stop()
    assert [s.value for s in query_history(db, "t1", 0)] == [1.0, 2.0, 3.0, 4.0, 5.0]
