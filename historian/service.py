"""The historian: `_telemetry` and `_telemetry/compact` (and the MES's `_mes/kpi`, see
`historian.kpi`) into the time-series store, acknowledged to the broker only once the store
accepted it.

paho's thread converts each message (line protocol for a server, points for the embedded
store) and buffers it, unacknowledged; the writer threads send batches of up to
`historian.batch_size` points every `flush_interval_ms` and acknowledge the messages of a batch
after the store accepted it. While the store is down the writer retries
with backoff and holds the batch: the broker stops sending once `receive_maximum` messages are
unacknowledged (MQTT 5), and everything unacknowledged is redelivered after a restart
(persistent session), so nothing is lost.
"""

import logging
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from config.plant import PlantConfig
from historian.kpi import BadKpi, kpi_line, kpi_samples
from historian.points import BadTelemetry, Converter, Point
from historian.stores import (
    EmbeddedStore,
    InfluxStore,
    Store,
    StoreRejected,
    StoreUnavailable,
)
from uns.client import make_client, parse_broker_url
from uns.sparkplug.host import SparkplugHost
from uns.sparkplug.settings import group_of
from uns.sparkplug.state import HostState
from uns.sparkplug.topics import NAMESPACE, group_filter
from uns.telemetry import telemetry_filters
from uns.topics import Namespace

log = logging.getLogger(__name__)

_TOPIC_CACHE_MAX = 100_000
SHARE_GROUP = "historian"
SPARKPLUG_PREFIX = f"{NAMESPACE}/"
SESSION_EXPIRY_S = 24 * 3600
#: concurrent store writes: one batch is decoded and sent while the store ingests another
WRITERS = 2


@dataclass(slots=True)
class HistorianStats:
    messages_received: int = 0
    kpi_messages: int = 0
    messages_acked: int = 0
    points_written: int = 0
    bad_messages: int = 0
    write_errors: int = 0
    write_seconds: float = 0.0
    writes: int = 0
    reconnects: int = 0
    buffered_messages: int = 0
    store_up: bool = True
    subscribed: bool = False


@dataclass(slots=True)
class _Held:
    """A received message, converted, not yet acknowledged."""

    epoch: int
    mid: int
    qos: int
    block: bytes  # its line protocol (server store), newline-terminated lines
    lines: int  # lines in `block`
    points: list[Point]  # its points (embedded store)
    size: int  # points in it; 1 for a message with none, so it still counts toward a batch


def subscription(
    ns: Namespace,
    protocol: MQTTProtocolVersion,
    group: str = SHARE_GROUP,
    telemetry: str | None = None,
) -> str:
    """Shared subscription on MQTT 5 brokers; a plain one on 3.1.1-only brokers (the embedded
    amqtt broker of the demo delivers nothing to `$share/...`). `telemetry`: the filter
    (default: the per-value JSON topics)."""
    topic = telemetry or ns.all_telemetry
    if protocol is MQTTProtocolVersion.MQTTv5:
        return f"$share/{group}/{topic}"
    return topic


def kpi_subscription(ns: Namespace, protocol: MQTTProtocolVersion, group: str = SHARE_GROUP) -> str:
    """`_mes/kpi`, shared like the telemetry subscription."""
    if protocol is MQTTProtocolVersion.MQTTv5:
        return f"$share/{group}/{ns.kpi}"
    return ns.kpi


class Historian:
    def __init__(
        self, cfg: PlantConfig, protocol: MQTTProtocolVersion, store: Store | None = None
    ) -> None:
        self.cfg = cfg
        h = cfg.historian
        self.protocol = protocol
        self.ns = Namespace(cfg.plant.enterprise, cfg.plant.site)
        #: the telemetry filters: both payload forms (uns/telemetry.py `telemetry_filters`)
        self.filters = telemetry_filters(self.ns, cfg.edge.payloads)
        self.topics = [subscription(self.ns, protocol, h.share_group, f) for f in self.filters]
        self.topic = self.topics[0]
        self.kpi_topic = kpi_subscription(self.ns, protocol, h.share_group)
        self.store: Store = store or (
            InfluxStore(h.url, h.token.get_secret_value() if h.token else None, h.org, h.bucket)
            if h.url
            else EmbeddedStore(h.embedded_path)
        )
        self.stats = HistorianStats()
        self._line_protocol = h.url is not None or store is not None
        self._conv = Converter()  # used on paho's thread only
        #: Sparkplug B edge nodes of the plant's group (edge.payloads), on paho's thread only
        self._spb = (
            SparkplugHost(self.ns, group_of(cfg)) if "sparkplug_b" in cfg.edge.payloads else None
        )
        primary = cfg.edge.sparkplug.primary_host_id
        self._host_state = (
            HostState(primary) if primary is not None and h.sparkplug_primary else None
        )
        self._telemetry_topics: dict[str, bool] = {}  # topic -> matches our subscription
        self._cond = threading.Condition()
        self._held: deque[_Held] = deque()
        self._held_points = 0
        self._first_held_at = 0.0
        self._epoch = 0
        self._connected_once = False
        self._halt = threading.Event()
        self._stop_by = float("inf")
        self._client: mqtt.Client | None = None
        self._writers: list[threading.Thread] = []
        self._ack_lock = threading.Lock()
        self._batch_seq = 0  # batches are numbered when taken ...
        self._next_ack = 1  # ... and acknowledged strictly in that order
        self._done: dict[int, list[_Held]] = {}

    def start(self) -> None:
        h = self.cfg.historian
        client_id = h.client_id or f"shopfloor-historian-{socket.gethostname()}"
        broker = self.cfg.broker.model_copy(update={"client_id": client_id})
        kwargs: dict[str, Any] = {}
        if self.protocol is not MQTTProtocolVersion.MQTTv5:
            kwargs["clean_session"] = False
        client = make_client(broker, client_id, self.protocol, manual_ack=True, **kwargs)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.reconnect_delay_set(1, 5)
        if self._host_state is not None:
            self._host_state.set_will(client)
        addr = parse_broker_url(broker.url)
        if self.protocol is MQTTProtocolVersion.MQTTv5:
            props = Properties(PacketTypes.CONNECT)
            props.ReceiveMaximum = h.receive_maximum
            props.SessionExpiryInterval = SESSION_EXPIRY_S
            client.connect_async(addr.host, addr.port, 30, clean_start=False, properties=props)
        else:
            client.connect_async(addr.host, addr.port, 30)
        self._client = client
        self._writers = [
            threading.Thread(target=self._write_loop, name=f"historian-writer-{i}", daemon=True)
            for i in range(WRITERS)
        ]
        for w in self._writers:
            w.start()
        client.loop_start()

    def stop(self, timeout: float = 5.0) -> None:
        """Write and acknowledge what is buffered (while the store answers), then disconnect;
        anything not acknowledged is redelivered by the broker later."""
        with self._cond:
            self._stop_by = time.monotonic() + timeout
            self._halt.set()
            self._cond.notify()
        for w in self._writers:
            w.join()
        if self._client is not None:
            if self._host_state is not None:
                self._host_state.leave(self._client)
            self._client.disconnect()
            self._client.loop_stop()
        self.store.close()

    # -- paho's thread ----------------------------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any = None
    ) -> None:
        if rc.is_failure:
            log.warning("broker refused the historian", extra={"reason": str(rc)})
            return
        with self._cond:
            self._epoch += 1  # acks of messages from an older connection are meaningless now
        if self._connected_once:
            self.stats.reconnects += 1
        self._connected_once = True
        topics = [(t, 1) for t in self.topics] + [(self.kpi_topic, 1)]
        if self._spb is not None:  # not shared: every instance needs the births
            topics.append((group_filter(self._spb.group), 1))
        client.subscribe(topics)
        if self._host_state is not None:  # after subscribing: the births that follow arrive
            self._host_state.announce(client)
        log.info("historian subscribed", extra={"topics": self.topics, "kpi": self.kpi_topic})

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, rcs: Any, props: Any = None
    ) -> None:
        self.stats.subscribed = not any(rc.is_failure for rc in rcs)
        if not self.stats.subscribed:
            log.error("broker refused the subscription", extra={"topic": self.topic})

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any = None
    ) -> None:
        self.stats.subscribed = False
        if not self._halt.is_set():
            log.warning("historian lost the broker", extra={"reason": str(rc)})

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        topic = msg.topic
        ours = self._telemetry_topics.get(topic)
        if ours is None:
            if len(self._telemetry_topics) > _TOPIC_CACHE_MAX:
                self._telemetry_topics.clear()
            ours = any(mqtt.topic_matches_sub(f, topic) for f in self.filters)
            self._telemetry_topics[topic] = ours
        if ours:
            block, lines, points = self._convert(topic, bytes(msg.payload))
        elif self._spb is not None and topic.startswith(SPARKPLUG_PREFIX):
            block, lines, points = self._convert_sparkplug(client, topic, bytes(msg.payload))
        elif topic == self.ns.kpi:
            self.stats.kpi_messages += 1
            block, lines, points = self._convert_kpi(topic, bytes(msg.payload))
        else:
            client.ack(msg.mid, msg.qos)  # brokers may send what we did not ask for
            return
        self.stats.messages_received += 1
        size = lines + len(points) or 1
        with self._cond:
            if not self._held:
                self._first_held_at = time.monotonic()
            self._held.append(_Held(self._epoch, msg.mid, msg.qos, block, lines, points, size))
            self._held_points += size
            self.stats.buffered_messages = len(self._held)
            if self._held_points >= self.cfg.historian.batch_size:
                self._cond.notify()

    def _convert(self, topic: str, payload: bytes) -> tuple[bytes, int, list[Point]]:
        """The message as line protocol (server) or points (embedded store). A message that is
        not telemetry is logged, counted and left empty (it is acknowledged with its batch)."""
        try:
            if self._line_protocol:
                block, lines = self._conv.encode(topic, payload)
                return block, lines, []
            return b"", 0, self._conv.points(topic, payload)
        except BadTelemetry as exc:
            self.stats.bad_messages += 1
            log.error("dropping a message that is not telemetry", extra={"error": str(exc)[:300]})
            return b"", 0, []

    def _convert_sparkplug(
        self, client: mqtt.Client, topic: str, payload: bytes
    ) -> tuple[bytes, int, list[Point]]:
        """A Sparkplug B message as the telemetry it carries (uns/sparkplug/host.py); asks an
        edge node whose aliases it does not know for a rebirth."""
        assert self._spb is not None
        try:
            translated = self._spb.receive(topic, payload)
        except ValueError as exc:
            self.stats.bad_messages += 1
            log.error("dropping a Sparkplug message", extra={"error": str(exc)[:300]})
            return b"", 0, []
        for request in self._spb.rebirths_due(int(time.time() * 1000)):
            client.publish(*request, 0)
        blocks: list[bytes] = []
        lines = 0
        points: list[Point] = []
        for m in translated:
            if m.topic.endswith("/_telemetry"):
                b, n, p = self._convert(m.topic, m.payload)
                blocks.append(b)
                lines += n
                points += p
        return b"".join(blocks), lines, points

    def _convert_kpi(self, topic: str, payload: bytes) -> tuple[bytes, int, list[Point]]:
        """A `_mes/kpi` message as one line (server) or its samples (embedded store); one that
        breaks the contract is logged, counted and left empty, like bad telemetry."""
        try:
            if self._line_protocol:
                return kpi_line(topic, payload), 1, []
            return b"", 0, kpi_samples(topic, payload)
        except BadKpi as exc:
            self.stats.bad_messages += 1
            log.error("dropping a _mes/kpi message", extra={"error": str(exc)[:300]})
            return b"", 0, []

    # -- the writer -------------------------------------------------------------------------

    def _take(self) -> tuple[int, list[_Held]]:
        h = self.cfg.historian
        interval = h.flush_interval_ms / 1000
        with self._cond:
            while True:
                due = self._held and time.monotonic() - self._first_held_at >= interval
                if self._held_points >= h.batch_size or due or self._halt.is_set():
                    break
                wait = (
                    interval
                    if not self._held
                    else self._first_held_at + interval - time.monotonic()
                )
                self._cond.wait(max(wait, 0.001))
            taken: list[_Held] = []
            n = 0
            while self._held and (not taken or n + self._held[0].size <= h.batch_size):
                item = self._held.popleft()
                taken.append(item)
                n += item.size
            self._held_points -= n
            self._first_held_at = time.monotonic()
            self.stats.buffered_messages = len(self._held)
            if not taken:
                return 0, taken
            self._batch_seq += 1
            return self._batch_seq, taken

    def _write_loop(self) -> None:
        while True:
            seq, batch = self._take()
            if not batch:
                if self._halt.is_set():
                    return
                continue
            body = b"".join([item.block for item in batch])
            lines = sum([item.lines for item in batch])
            points = [p for item in batch for p in item.points] if not self._line_protocol else []
            stored = self._store(body, lines, points)
            if stored is None:
                return  # stopping with the store down: the broker redelivers after restart
            if not stored:  # the store refuses something in it: find the message, keep the rest
                for item in batch:
                    one = self._store(item.block, item.lines, item.points)
                    if one is None:
                        return
                    if not one:
                        self.stats.bad_messages += 1
                        log.error("the store refused a message; dropped", extra={"mid": item.mid})
            self._ack(seq, batch)

    def _store(self, body: bytes, lines: int, points: list[Point]) -> bool | None:
        """True once stored; False if the store refuses the data itself; None when stopping
        while the store is still down. Retries with backoff while the store is unavailable."""
        delay = 0.2
        while True:
            started = time.perf_counter()
            try:
                self.store.write(body, points)
            except StoreRejected as exc:
                log.error("store rejected a batch", extra={"error": str(exc)})
                return False
            except StoreUnavailable as exc:
                self.stats.write_errors += 1
                if self.stats.store_up:
                    log.warning("store not accepting writes; holding", extra={"error": str(exc)})
                self.stats.store_up = False
                if self._halt.is_set() and time.monotonic() > self._stop_by:
                    return None
                self._halt.wait(delay)
                delay = min(delay * 2, self.cfg.historian.retry_max_s)
                continue
            self.stats.write_seconds += time.perf_counter() - started
            self.stats.writes += 1
            if not self.stats.store_up:
                log.info("store accepting writes again")
            self.stats.store_up = True
            self.stats.points_written += len(points) + lines
            return True

    def _ack(self, seq: int, batch: list[_Held]) -> None:
        """Acknowledge batches in the order they were received, whichever writer finished
        first. The ack lock is never taken on paho's thread."""
        client = self._client
        if client is None:
            return
        with self._ack_lock:
            self._done[seq] = batch
            with self._cond:
                epoch = self._epoch
            while self._next_ack in self._done:
                for item in self._done.pop(self._next_ack):
                    if item.epoch == epoch:
                        client.ack(item.mid, item.qos)
                        self.stats.messages_acked += 1
                self._next_ack += 1
