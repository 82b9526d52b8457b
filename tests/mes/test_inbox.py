"""The durable consumer base on a real Mosquitto: a message the database refuses on its own
(a unique key) goes to the dead-letter topic with the reason, and the messages batched with it
are committed, not retried forever."""

import uuid
from collections.abc import Callable
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select
from sqlmodel import Session

from config.plant import Broker
from mes.core.errors import BadMessage
from mes.core.inbox import DurableConsumer
from tests.northbound.helpers import Collector
from tests.services.mosquitto import Mosquitto
from tests.services.ports import wait_for
from uns.topics import Namespace

NS = Namespace("acme", "plant1")
TOPIC = f"{NS.root}/t/lot"
meta = MetaData()
lots = Table(
    "lots", meta, Column("id", Integer, primary_key=True), Column("lot", String, unique=True)
)


class LotConsumer(DurableConsumer[Session]):
    name = "lot-consumer"

    def subscriptions(self) -> list[str]:
        return [TOPIC]

    def begin(self, session: Session) -> Session:
        return session

    def handle(self, state: Session, topic: str, payload: bytes) -> int:
        lot = payload.decode()
        if not lot:
            raise BadMessage("empty lot")
        state.execute(insert(lots).values(lot=lot))
        return 1


@pytest.fixture
def broker(mosquitto_factory: Callable[..., Mosquitto]) -> Mosquitto:
    return mosquitto_factory().start()


def test_a_message_the_database_refuses_is_dead_lettered_and_its_batch_committed(
    broker: Mosquitto, tmp_path: Path
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/lots.db")
    meta.create_all(engine)
    dead = Collector(broker.url, NS.dead_letter, client_id="dead-letters")
    wait_for(dead.subscribed.is_set, 10, "dead-letter collector subscribed")
    cons = LotConsumer(engine, Broker(url=broker.url), NS, "lots-t", max_batch=100)
    cons.start()
    wait_for(cons.subscribed.is_set, 10, "consumer subscribed")
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:6]}")
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    try:
        sent = ["L1", "L2", "L1", "", "L3"]  # a duplicate lot and an empty one
        for lot in sent:
            pub.publish(TOPIC, lot.encode(), qos=1).wait_for_publish(5)
        wait_for(lambda: cons.handled >= len(sent), 20, "every message handled")
        with engine.connect() as conn:
            stored = sorted(conn.execute(select(lots.c.lot)).scalars())
        assert stored == ["L1", "L2", "L3"]
        assert (cons.handled, cons.rejected, cons.applied) == (5, 2, 3)
        wait_for(lambda: len(dead.messages) >= 2, 10, "two dead letters")
        letters = sorted((orjson.loads(m[1]) for m in dead.messages), key=lambda b: b["payload"])
        assert [(b["topic"], b["payload"]) for b in letters] == [(TOPIC, ""), (TOPIC, "L1")]
        assert letters[0]["reason"] == "empty lot"
        assert "UNIQUE" in letters[1]["reason"]
    finally:
        pub.loop_stop()
        pub.disconnect()
        cons.stop()
