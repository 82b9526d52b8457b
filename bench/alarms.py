"""Alarm benchmark (issue 6 item 8). Two parts, each with its baseline from the same run:

1. Edge: values per CPU-second through `DevicePipeline` (per-tag processing, batches to a sink) for
   10 devices x 500 tags, with 10,000 alarm definitions on those tags (an H and an L limit per
   tag, through the real `AlarmObserver`) and with none. Target: ratio >= 0.8.
2. MES: an alarm flood of 1,000 conditions raised within one second, published on a private
   Mosquitto as the edge does, consumed by the running MES app (consumer -> lifecycle ->
   journal -> notification outbox -> relay -> `_mes/alarms` + a webhook). It prints condition
   events/s into the journal, notifications/s delivered, checks that not one is lost, and the
   p50/p99 of the acknowledgement API measured during the flood.

    .venv/bin/python bench/alarms.py [--polls 60] [--flood 1000]
"""

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402
from pydantic import TypeAdapter  # noqa: E402
from sqlmodel import Session, func, select  # noqa: E402

from config.alarms import AlarmDefinition  # noqa: E402
from config.plant import PlantConfig  # noqa: E402
from edge.alarms.conditions import ConditionEngine  # noqa: E402
from edge.alarms.observer import AlarmObserver  # noqa: E402
from edge.alarms.topics import conditions_topic  # noqa: E402
from edge.drivers.modbus.config import ModbusDevice  # noqa: E402
from edge.model import Quality, Reading, TelemetryBatch  # noqa: E402
from edge.pipeline.device import DevicePipeline  # noqa: E402
from mes.alarms.models import AlarmJournal  # noqa: E402
from tests.alarms.webhook_sink import WebhookSink  # noqa: E402
from tests.mes.scan_harness import PLANT, add_user, bearer, running_app  # noqa: E402
from tests.northbound.helpers import Collector  # noqa: E402
from tests.services.mosquitto import Mosquitto  # noqa: E402
from tests.services.ports import wait_for  # noqa: E402
from uns.topics import Namespace  # noqa: E402

NS = Namespace("acme", "plant1")
DEVICES, TAGS = 10, 500
PATH = "stamping/line1/c1"


# -- part 1: the edge pipeline ----------------------------------------------------------------


class NullSink:
    def __init__(self) -> None:
        self.values = 0

    def put(self, batch: TelemetryBatch) -> None:
        self.values += batch.count


class NullPublisher:
    def __init__(self) -> None:
        self.messages = 0

    def publish_durable(
        self, topic: str, payload: bytes, retain: bool = False, qos: int = 1
    ) -> None:
        self.messages += 1


def device_cfg(i: int) -> ModbusDevice:
    return ModbusDevice.model_validate(
        {
            "name": f"dev-{i:02d}",
            "path": PATH,
            "driver": "modbus_tcp",
            "connection": {"host": "127.0.0.1", "port": 502},
            "poll_interval_ms": 100,
            "tags": [{"name": f"t{j}", "address": 2 * j, "type": "float32"} for j in range(TAGS)],
        }
    )


def definitions() -> list[AlarmDefinition]:
    adapter: TypeAdapter[AlarmDefinition] = TypeAdapter(AlarmDefinition)
    out = []
    for i in range(DEVICES):
        for j in range(TAGS):
            base = {"device": f"dev-{i:02d}", "tag": f"t{j}", "kind": "limit", "deadband": 1}
            out.append(adapter.validate_python({**base, "level": "H", "limit": 90.0}))
            out.append(adapter.validate_python({**base, "level": "L", "limit": 10.0}))
    return out


def polls(n: int) -> list[list[list[Reading]]]:
    """n polls x devices x tags of changing values (a random walk between 20 and 80; a few
    tags cross a limit now and then, so that alarms are raised and cleared too)."""
    rnd = random.Random(7)
    values = [[50.0 + rnd.uniform(-20, 20) for _ in range(TAGS)] for _ in range(DEVICES)]
    out = []
    t = 1_764_000_000_000
    for _ in range(n):
        t += 100
        poll = []
        for i in range(DEVICES):
            row = values[i]
            batch = []
            for j in range(TAGS):
                v = row[j] + rnd.uniform(-1, 1)
                if j == 0:
                    v = 95.0 if (t // 1000) % 2 else 50.0  # one tag per device toggles
                row[j] = v
                batch.append(Reading(f"t{j}", v, Quality.GOOD, t, t))
            poll.append(batch)
        out.append(poll)
    return out


def run_pipeline(data: list[list[list[Reading]]], with_alarms: bool) -> tuple[float, int]:
    sink = NullSink()
    observers: list[Any] = []
    pub = NullPublisher()
    if with_alarms:
        engine = ConditionEngine(definitions(), {f"dev-{i:02d}": PATH for i in range(DEVICES)})
        paths = {f"dev-{i:02d}": PATH for i in range(DEVICES)}
        observers.append(AlarmObserver(engine, pub, NS, "edge-bench", paths))
    pipes = [
        DevicePipeline(device_cfg(i), sink, lambda *a: None, observers=observers)
        for i in range(DEVICES)
    ]
    start = time.process_time()  # CPU time of this process: robust on a shared machine
    for poll in data:
        for pipe, batch in zip(pipes, poll, strict=True):
            pipe.readings(batch)
    elapsed = time.process_time() - start
    offered = sum(len(b) for p in data for b in p)
    return offered / elapsed, sink.values


def edge_part(n_polls: int, rounds: int = 7) -> None:
    print(f"edge: {DEVICES} devices x {TAGS} tags, {n_polls} polls, {rounds} paired rounds")
    data = polls(n_polls)
    base, alarms, ratios = [], [], []
    for _ in range(rounds):  # alternate, so that load from elsewhere hits both alike
        b = run_pipeline(data, False)[0]
        a = run_pipeline(data, True)[0]
        base.append(b)
        alarms.append(a)
        ratios.append(a / b)
    print(f"  pipeline, no alarm definitions:      {statistics.median(base):12,.0f} values/CPU-s")
    print(f"  pipeline, 10,000 alarm definitions:  {statistics.median(alarms):12,.0f} values/CPU-s")
    print(f"  ratio (median of paired rounds): {statistics.median(ratios):.2f} (target >= 0.8)")


# -- part 2: the MES during a flood -----------------------------------------------------------


def mes_plant(db_url: str, broker_url: str, hook_url: str) -> PlantConfig:
    raw: dict[str, Any] = json.loads(json.dumps(PLANT))
    raw["database"] = {"url": db_url}
    raw["broker"] = {"url": broker_url}
    raw["devices"] = [
        {
            "name": "press-01",
            "path": PATH,
            "driver": "modbus_tcp",
            "connection": {"host": "127.0.0.1", "port": 502},
            "tags": [{"name": "t0", "address": 0}],
        }
    ]
    raw["alarm_settings"] = {"webhooks": [{"url": hook_url, "secret": "bench"}]}
    return PlantConfig.model_validate(raw)


def condition_message(i: int, ts: int) -> bytes:
    alarm = f"press-01.t{i}.h"
    event = {
        "event_id": f"{alarm}@{ts}:raised",
        "alarm": alarm,
        "tag": f"t{i}",
        "condition": "raised",
        "ts": ts,
        "since": ts,
        "value": 99.0,
        "limit": 90.0,
        "quality": "good",
        "priority": "high",
        "message": f"t{i} high",
    }
    return orjson.dumps(
        {"v": 1, "agent": "edge-b", "device": "press-01", "ts": ts, "events": [event]}
    )


def journal_count(engine: Any) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(AlarmJournal)).one())


def mes_part(flood: int, workdir: Path) -> None:
    print(f"mes: a flood of {flood} conditions raised within 1 s")
    broker = Mosquitto(workdir / "mosquitto").start()
    sink = WebhookSink()
    cfg = mes_plant(f"sqlite:///{workdir}/mes.db", broker.url, sink.url)
    col = Collector(broker.url, NS.alarms, client_id="bench-mes-alarms")
    try:
        with running_app(cfg) as (client, engine):
            add_user(engine, "boss", "supervisor", "boss-password-1")
            r = client.post(
                "/api/v1/auth/login", json={"username": "boss", "password": "boss-password-1"}
            )
            sup = bearer(r.json()["access_token"])
            rt = client.app.state.alarms  # type: ignore[attr-defined]
            wait_for(rt.consumer.subscribed.is_set, 10, "consumer subscribed")
            pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-edge")
            pub.max_inflight_messages_set(0)
            pub.connect("127.0.0.1", broker.port)
            pub.loop_start()
            topic = conditions_topic(NS, PATH, "press-01")
            latencies: list[float] = []
            stop = threading.Event()

            def acker() -> None:
                """Acknowledge alarms as they appear, timing each API call."""
                i = 0
                while not stop.is_set() and i < flood:
                    alarm = f"press-01.t{i}.h"
                    t0 = time.perf_counter()
                    r = client.post(f"/api/v1/alarms/{alarm}/ack", json={}, headers=sup)
                    dt = time.perf_counter() - t0
                    if r.status_code == 200:
                        latencies.append(dt)
                        i += 1
                    elif r.status_code == 404:
                        stop.wait(0.005)  # not raised yet: the ack loop's pacing, not a sync
                    else:
                        raise RuntimeError(r.text)

            ack_thread = threading.Thread(target=acker)
            ts0 = int(time.time() * 1000)
            start = time.perf_counter()
            ack_thread.start()
            infos = []
            for i in range(flood):
                infos.append(pub.publish(topic, condition_message(i, ts0 + i), qos=1))
                due = start + (i + 1) / flood  # spread over one second
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            for info in infos:
                info.wait_for_publish(10)
            published = time.perf_counter() - start
            wait_for(lambda: journal_count(engine) >= flood, 60, "every raise in the journal")
            journaled = time.perf_counter() - start
            wait_for(lambda: rt.relay.stats.by_topic.get("alarms", 0) >= flood, 60, "MQTT out")
            mqtt_done = time.perf_counter() - start
            wait_for(lambda: len(sink.posts) >= flood, 60, "webhooks")
            notified = time.perf_counter() - start
            ack_thread.join(60)
            stop.set()
            wait_for(lambda: len(col.messages) >= 2 * flood, 60, "raise + ack events received")
            pub.disconnect()
            pub.loop_stop()
            raised = {
                orjson.loads(p)["alarm"]
                for _, p, _ in col.messages
                if orjson.loads(p)["action"] == "raised"
            }
            print(f"  published in {published:.2f} s")
            print(
                f"  into the journal: {flood / journaled:,.0f} condition events/s "
                f"(all {flood} after {journaled:.2f} s)"
            )
            print(
                f"  _mes/alarms published (PUBACK): {flood / mqtt_done:,.0f} events/s "
                f"(all after {mqtt_done:.2f} s)"
            )
            print(
                f"  notifications (MQTT + webhook) delivered: {flood / notified:,.0f} events/s "
                f"(all after {notified:.2f} s)"
            )
            print(
                f"  lost: {flood - len(raised)} raises on _mes/alarms, "
                f"{flood - journal_count(engine) + len(latencies)} in the journal "
                f"(journal holds {journal_count(engine)} = raises + acks)"
            )
            q = statistics.quantiles(latencies, n=100)
            print(
                f"  ack API during the flood: {len(latencies)} acks, "
                f"p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms"
            )
    finally:
        col.close()
        sink.close()
        broker.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--polls", type=int, default=60)
    ap.add_argument("--flood", type=int, default=1000)
    args = ap.parse_args()
    edge_part(args.polls)
    with tempfile.TemporaryDirectory() as d:
        mes_part(args.flood, Path(d))


if __name__ == "__main__":
    main()
