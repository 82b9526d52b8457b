"""Test helpers: synthetic telemetry and a subscriber that records what the broker delivers."""

import threading
from collections import defaultdict
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from config.plant import Broker, Queue
from edge.model import Quality, Reading, TelemetryBatch, now_ms
from edge.northbound.publisher import Northbound
from tests.services.ports import wait_for
from uns.topics import Namespace

NS = Namespace("acme", "plant1")
PATHS = {"press-01": "stamping/line1/cell1", "press-02": "stamping/line1/cell2"}


def batch(device: str, n: int, base: float = 0.0) -> TelemetryBatch:
    t = now_ms()
    return TelemetryBatch(
        device,
        [Reading(f"t{i}", base + i, Quality.GOOD, t, t, unit="bar") for i in range(n)],
    )


def northbound(
    url: str, queue_path: str, max_bytes: int = 64 * 1024 * 1024, **kw: Any
) -> Northbound:
    return Northbound(
        Broker(url=url),
        NS,
        "edge-t",
        PATHS,
        Queue(path=queue_path, max_bytes=max_bytes),
        protocol=MQTTProtocolVersion.MQTTv5,
        **kw,
    )


class Collector:
    """A persistent-session subscriber: records every message, duplicates included."""

    def __init__(self, url: str, topic: str, client_id: str = "collector") -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self.seq_log: dict[str, list[int]] = defaultdict(list)
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        port = int(url.rsplit(":", 1)[1])
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        self.client.reconnect_delay_set(1, 1)
        self.topic = topic

        def on_connect(c: mqtt.Client, u: Any, f: Any, rc: Any, p: Any = None) -> None:
            c.subscribe(topic, qos=1)

        def on_subscribe(c: mqtt.Client, u: Any, mid: Any, rcs: Any, p: Any = None) -> None:
            self.subscribed.set()

        def on_message(c: mqtt.Client, u: Any, m: mqtt.MQTTMessage) -> None:
            with self.lock:
                self.messages.append((m.topic, m.payload, m.retain))
                if m.topic.endswith("/_telemetry"):
                    body = orjson.loads(m.payload)
                    self.seq_log[body["device"]].append(body["seq"])

        self.client.on_connect = on_connect
        self.client.on_subscribe = on_subscribe
        self.client.on_message = on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        wait_for(self.subscribed.is_set, 10, f"subscription to {topic}")

    def telemetry(self) -> dict[str, list[dict[str, Any]]]:
        """Telemetry payloads per device, in arrival order."""
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        with self.lock:
            msgs = list(self.messages)
        for topic, payload, _ in msgs:
            if topic.endswith("/_telemetry"):
                body = orjson.loads(payload)
                out[body["device"]].append(body)
        return out

    def seqs(self, device: str) -> list[int]:
        with self.lock:
            return list(self.seq_log.get(device, []))

    def has_seqs(self, device: str, upto: int) -> bool:
        return set(range(1, upto + 1)) <= set(self.seqs(device))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def check_stream(seqs: list[int], expected: list[int], window: int) -> int:
    """Every expected seq arrived; after dropping redeliveries (QoS 1 resends of messages in
    flight when the connection broke, at most `window` per outage) the stream is exactly
    `expected`, in order. Returns the number of redeliveries."""
    seen: set[int] = set()
    firsts: list[int] = []
    for s in seqs:
        if s not in seen:
            seen.add(s)
            firsts.append(s)
    assert firsts == expected, f"order/loss: first deliveries differ from {expected[:3]}..."
    dups = len(seqs) - len(firsts)
    assert dups <= window, f"{dups} redeliveries, more than the in-flight window {window}"
    return dups
