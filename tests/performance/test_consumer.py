"""The state consumer on a real Mosquitto: bad messages go to `_mes/deadletter` with the
reason and do not come back; messages sent while the MES is down arrive after its restart
(persistent session) and are applied once."""

import uuid
from collections.abc import Callable
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlmodel import Session, col, select

from config.plant import Broker
from mes.performance.consumer import StateConsumer
from mes.performance.models import StateInterval
from mes.performance.units import work_units
from tests.northbound.helpers import Collector
from tests.performance.adapters import NS, PRESS, T0, mes_db, plant, press, s
from tests.services.mosquitto import Mosquitto
from tests.services.ports import wait_for


@pytest.fixture
def broker(mosquitto_factory: Callable[..., Mosquitto]) -> Mosquitto:
    return mosquitto_factory().start()


def publish(broker: Mosquitto, topic: str, payload: bytes) -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:6]}")
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    c.publish(topic, payload, qos=1).wait_for_publish(5)
    c.disconnect()
    c.loop_stop()


def started(engine, broker: Mosquitto) -> StateConsumer:
    cons = StateConsumer(
        engine,
        Broker(url=broker.url),
        NS,
        work_units(plant()),
        client_id="mes-states-t",
        tick_s=3600,
    )
    cons.start()
    wait_for(cons.subscribed.is_set, 10, "state consumer subscribed")
    return cons


def test_bad_message_to_dead_letter_and_restart_keeps_what_was_sent(
    broker: Mosquitto, tmp_path: Path
) -> None:
    engine = mes_db(tmp_path)
    dead = Collector(broker.url, NS.dead_letter, client_id="dead-letters")
    wait_for(dead.subscribed.is_set, 10, "dead-letter collector subscribed")
    cons = started(engine, broker)
    publish(broker, PRESS, b'{"v": 1, "ts": 1}')
    publish(broker, PRESS, press(T0, 1))
    wait_for(lambda: cons.handled >= 2, 10, "both messages handled")
    wait_for(lambda: dead.messages, 10, "the dead letter")
    letter = orjson.loads(dead.messages[0][1])
    assert (letter["topic"], letter["reason"]) == (PRESS, "`values` must be a list")
    assert orjson.loads(letter["payload"]) == {"v": 1, "ts": 1}
    cons.stop()

    # the MES is down: the edge goes on; the broker keeps it for the persistent session
    publish(broker, PRESS, press(T0 + s(30), 2, fault=True))
    publish(broker, PRESS, press(T0 + s(60), 1))
    cons = started(engine, broker)
    try:
        wait_for(lambda: cons.handled >= 2, 10, "the messages sent while down")
        with Session(engine) as session:
            rows = session.exec(select(StateInterval).order_by(col(StateInterval.start))).all()
        assert [(r.state, (r.end - r.start).total_seconds()) for r in rows] == [
            ("running", 30.0),
            ("micro_stop", 30.0),
        ]
        assert cons.rejected == 0  # the bad message was acknowledged: it did not come back
    finally:
        cons.stop()
    assert len(dead.messages) == 1
