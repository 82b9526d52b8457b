"""A minimal Sparkplug B host application for the interop tests, independent of the product's
Sparkplug code: paho for MQTT, `tests.sparkplug.wire` for the payloads."""

import threading
import time

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from tests.northbound.test_agent import until
from tests.services.ports import wait_for
from tests.sparkplug import wire


class ScadaHost:
    def __init__(self, url: str, host_id: str = "scada", group: str = "plant1") -> None:
        self.host_id = host_id
        self.group = group
        self.lock = threading.Lock()
        self.messages: list[tuple[str, wire.WirePayload]] = []
        port = int(url.rsplit(":", 1)[1])
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"host-{host_id}",
            protocol=MQTTProtocolVersion.MQTTv311,
        )  # fmt: skip
        self.client.on_message = self._on_message
        self.client.on_connect = self._on_connect
        self.client.reconnect_delay_set(1, 1)
        self.subscribed = threading.Event()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        wait_for(self.subscribed.is_set, 10, "host subscribed")

    def _on_connect(self, c: mqtt.Client, u: object, f: object, rc: object, p: object) -> None:
        c.subscribe(f"spBv1.0/{self.group}/#", 1)  # again after every reconnect
        self.subscribed.set()

    def _on_message(self, c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        if msg.topic.startswith(f"spBv1.0/{self.group}/"):
            with self.lock:
                self.messages.append((msg.topic, wire.read(bytes(msg.payload))))

    def state(self, online: bool) -> None:
        """Announce the host (retained, as Sparkplug 3.0 asks)."""
        body = orjson.dumps({"online": online, "timestamp": int(time.time() * 1000)})
        info = self.client.publish(f"spBv1.0/STATE/{self.host_id}", body, 1, retain=True)
        info.wait_for_publish(5)

    def of(self, kind: str, device: str | None = None) -> list[wire.WirePayload]:
        with self.lock:
            return [
                p
                for t, p in self.messages
                if t.split("/")[2] == kind and (device is None or t.endswith(f"/{device}"))
            ]

    def wait(
        self, kind: str, count: int = 1, device: str | None = None, timeout: float = 15
    ) -> list[wire.WirePayload]:
        """Blocking: for tests whose agent runs in another process."""
        wait_for(lambda: len(self.of(kind, device)) >= count, timeout, f"{count} {kind}")
        return self.of(kind, device)

    async def until(
        self, kind: str, count: int = 1, device: str | None = None, timeout: float = 15
    ) -> list[wire.WirePayload]:
        """Awaiting: for tests whose agent runs in this event loop."""
        await until(lambda: len(self.of(kind, device)) >= count, timeout, f"{count} {kind}")
        return self.of(kind, device)

    def command(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, 1).wait_for_publish(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
