"""The MES state consumer fed by a Sparkplug B edge node on a real Mosquitto gives the same
state intervals as the UNS JSON path (tests/performance/test_consumer.py)."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlmodel import Session, col, select

from config.plant import Broker
from edge.model import Quality, Reading, TelemetryBatch
from edge.sparkplug.metrics import alias_table
from edge.sparkplug.node_state import EdgeNode, Publish
from mes.performance.consumer import StateConsumer
from mes.performance.models import StateInterval
from mes.performance.units import work_units
from tests.performance.adapters import NS, mes_db, ms, plant, s
from tests.services.mosquitto import Mosquitto
from tests.services.ports import wait_for


def press(at: datetime, state: int) -> TelemetryBatch:
    t = ms(at)
    readings = [
        Reading("state", state, Quality.GOOD, t, t),
        Reading("fault", state == 2, Quality.GOOD, t, t),
    ]
    return TelemetryBatch("press-01", readings, t)


def test_state_intervals_from_sparkplug(
    mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path
) -> None:
    broker = mosquitto_factory().start()
    cfg = plant()
    # the NBIRTH (agent online) is applied at the time it is heard: the polls come after it
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
    engine = mes_db(tmp_path)
    cons = StateConsumer(
        engine,
        Broker(url=broker.url),
        NS,
        work_units(cfg),
        client_id="mes-states-spb",
        tick_s=3600,
        sparkplug_group="plant1",
    )
    cons.start()
    wait_for(cons.subscribed.is_set, 10, "state consumer subscribed")
    edge = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"edge-{uuid.uuid4().hex[:6]}")
    edge.connect("127.0.0.1", broker.port)
    edge.loop_start()
    node = EdgeNode("plant1", "edge-1", alias_table([cfg.device("press-01")]), None)
    node.telemetry(press(t0, 1), ms(t0))  # not yet online: held, and the birth's value
    sent = node.connected(1, ms(t0))
    sent += node.telemetry(press(t0 + s(30), 2), ms(t0 + s(30)))
    sent += node.telemetry(press(t0 + s(60), 1), ms(t0 + s(60)))
    try:
        for p in sent:
            assert isinstance(p, Publish)
            edge.publish(p.topic, p.payload, qos=1).wait_for_publish(5)
        wait_for(lambda: cons.handled >= len(sent), 10, "every Sparkplug message handled")
        with Session(engine) as session:
            rows = session.exec(select(StateInterval).order_by(col(StateInterval.start))).all()
        got = [(r.state, (r.end - r.start).total_seconds()) for r in rows]
        assert got[0][0] == "unknown"  # from the NBIRTH (agent online) to the first poll
        assert got[1:] == [("running", 30.0), ("micro_stop", 30.0)]
        assert cons.rejected == 0
    finally:
        cons.stop()
        edge.loop_stop()
        edge.disconnect()
