"""Make paho-mqtt clients from the plant's broker settings: MQTT 5 first, 3.1.1 as fallback."""

import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from config.plant import Broker

log = logging.getLogger(__name__)


class BrokerUnreachable(Exception):
    pass


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool


def parse_broker_url(url: str) -> BrokerAddress:
    u = urlparse(url)
    tls = u.scheme == "mqtts"
    return BrokerAddress(u.hostname or "127.0.0.1", u.port or (8883 if tls else 1883), tls)


def make_client(
    broker: Broker,
    client_id: str,
    protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
    manual_ack: bool = False,
    **kwargs: Any,
) -> mqtt.Client:
    """A configured, not yet connected client (credentials, TLS, protocol)."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=broker.client_id or client_id,
        protocol=protocol,
        manual_ack=manual_ack,
        **kwargs,
    )
    if broker.username:
        pw = broker.password.get_secret_value() if broker.password else None
        client.username_pw_set(broker.username, pw)
    addr = parse_broker_url(broker.url)
    if addr.tls or broker.tls:
        tls = broker.tls
        client.tls_set(
            ca_certs=tls.ca if tls else None,
            certfile=tls.cert if tls else None,
            keyfile=tls.key if tls else None,
            cert_reqs=ssl.CERT_REQUIRED,
        )
    return client


def probe_protocol(broker: Broker, timeout: float = 3.0) -> MQTTProtocolVersion:
    """MQTT 5 when the broker accepts it, else 3.1.1 (e.g. amqtt); BrokerUnreachable if neither."""
    addr = parse_broker_url(broker.url)
    last = "no answer"
    for proto in (MQTTProtocolVersion.MQTTv5, MQTTProtocolVersion.MQTTv311):
        client = make_client(broker, "", protocol=proto, reconnect_on_failure=False)
        done = threading.Event()
        result: list[bool] = []

        def on_connect(
            c: mqtt.Client,
            u: Any,
            f: Any,
            rc: ReasonCode,
            p: Any = None,
            result: list[bool] = result,
            done: threading.Event = done,
        ) -> None:
            result.append(not rc.is_failure)
            done.set()

        client.on_connect = on_connect
        try:
            client.connect(addr.host, addr.port, keepalive=10)
        except OSError as exc:
            raise BrokerUnreachable(f"{broker.url}: {exc.strerror or exc}") from None
        client.loop_start()
        ok = done.wait(timeout) and result and result[0]
        client.disconnect()
        client.loop_stop()
        if ok:
            return proto
        last = "refused MQTT 5" if proto is MQTTProtocolVersion.MQTTv5 else "refused MQTT 3.1.1"
    raise BrokerUnreachable(f"{broker.url}: {last}")


def probe_with_retries(
    broker: Broker, pause: Callable[[float], None] = time.sleep
) -> MQTTProtocolVersion:
    """`probe_protocol`, tried `broker.connect_retries` more times with growing pauses; raises
    BrokerUnreachable("... after N attempts: reason") when the broker never answers."""
    delay = 0.5
    last = "no answer"
    for attempt in range(broker.connect_retries + 1):
        try:
            return probe_protocol(broker)
        except BrokerUnreachable as exc:
            last = str(exc)
            if attempt < broker.connect_retries:
                log.warning("broker not reachable yet", extra={"error": last})
                pause(delay)
                delay = min(delay * 2, 5.0)
    raise BrokerUnreachable(
        f"broker unreachable after {broker.connect_retries + 1} attempts: {last}"
    )
