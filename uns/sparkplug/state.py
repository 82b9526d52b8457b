"""A host application's STATE (Sparkplug 3.0): `spBv1.0/STATE/<host id>`, retained JSON
`{"online": bool, "timestamp": ms}`; online on connect, offline as the MQTT will and on a clean
stop. The timestamp is the session's: the will and the online message carry the same one."""

import contextlib
import time

import orjson
import paho.mqtt.client as mqtt

from uns.sparkplug.topics import state_topic


class HostState:
    def __init__(self, host_id: str) -> None:
        self.topic = state_topic(host_id)
        self.timestamp = int(time.time() * 1000)

    def payload(self, online: bool) -> bytes:
        return orjson.dumps({"online": online, "timestamp": self.timestamp})

    def set_will(self, client: mqtt.Client) -> None:
        """Before connecting."""
        client.will_set(self.topic, self.payload(False), qos=1, retain=True)

    def announce(self, client: mqtt.Client) -> None:
        """On every connect (from paho's on_connect)."""
        client.publish(self.topic, self.payload(True), qos=1, retain=True)

    def leave(self, client: mqtt.Client, timeout: float = 2.0) -> None:
        """A clean stop, before disconnecting."""
        if client.is_connected():
            info = client.publish(self.topic, self.payload(False), qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout)
