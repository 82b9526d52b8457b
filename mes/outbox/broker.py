"""The MES's MQTT connection: persistent session, manual acks, QoS 1 publishing (paho adapter).

Subscribed messages are acknowledged only after their handler returned (i.e. after the
database commit), so an order message is never lost when the MES dies while handling it.
"""

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from config.plant import Broker
from uns.client import make_client, parse_broker_url

log = logging.getLogger(__name__)

#: How long the broker keeps our session (subscriptions, queued QoS 1 messages) while away.
SESSION_EXPIRY_S = 7 * 24 * 3600

Handler = Callable[[str, bytes], None]


class _Pending:
    def __init__(self, info: mqtt.MQTTMessageInfo, link: "BrokerLink") -> None:
        self.info = info
        self.link = link

    def wait(self, timeout: float) -> bool:
        """Wait for the PUBACK; give up early when the connection drops (resent later)."""
        deadline = time.monotonic() + timeout
        while not self.info.is_published():
            if not self.link.is_connected() or time.monotonic() > deadline:
                return False
            try:
                self.info.wait_for_publish(0.05)
            except (RuntimeError, ValueError):
                return False
        return True


class BrokerLink:
    def __init__(
        self,
        broker: Broker,
        client_id: str,
        protocol: MQTTProtocolVersion,
        handlers: Mapping[str, Handler],
    ) -> None:
        self.broker = broker
        self.protocol = protocol
        self.handlers = handlers
        self._connected = threading.Event()
        self._stopping = False
        kwargs: dict[str, Any] = {}
        if protocol is not MQTTProtocolVersion.MQTTv5:
            kwargs["clean_session"] = False
        self.client = make_client(broker, client_id, protocol=protocol, manual_ack=True, **kwargs)
        self.client.reconnect_delay_set(0.2, 5)  # type: ignore[arg-type]
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.on_connected: Callable[[], None] | None = None

    def start(self) -> None:
        addr = parse_broker_url(self.broker.url)
        props = None
        extra: dict[str, Any] = {}
        if self.protocol is MQTTProtocolVersion.MQTTv5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = SESSION_EXPIRY_S
            extra["clean_start"] = False
        self.client.connect_async(addr.host, addr.port, keepalive=15, properties=props, **extra)
        self.client.loop_start()

    def stop(self) -> None:
        self._stopping = True
        self.client.disconnect()
        self.client.loop_stop()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def is_connected(self) -> bool:
        return not self._stopping and self._connected.is_set() and self.client.is_connected()

    def publish(self, topic: str, payload: bytes) -> _Pending:
        return _Pending(self.client.publish(topic, payload, qos=1), self)

    def _on_connect(
        self, client: mqtt.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any = None
    ) -> None:
        if rc.is_failure:
            log.warning("broker refused the MES connection: %s", rc)
            return
        for topic in self.handlers:
            client.subscribe(topic, qos=1)
        self._connected.set()
        log.info("MES connected to %s", self.broker.url)
        if self.on_connected is not None:
            self.on_connected()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any = None) -> None:
        self._connected.clear()
        if not self._stopping:
            log.warning("MES lost the broker (%s); reconnecting", rc)

    def _on_message(self, client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        handler = self.handlers.get(msg.topic)
        if handler is None:  # some brokers send what we did not subscribe to
            client.ack(msg.mid, msg.qos)
            return
        try:
            handler(msg.topic, bytes(msg.payload))
        except Exception:  # the subscriber must survive anything; unacked: redelivered later
            log.exception("handling a message on %s failed; it will be redelivered", msg.topic)
            return
        client.ack(msg.mid, msg.qos)
