"""The northbound publisher: batches in, durable queue, MQTT out, rows removed on PUBACK.

Threads:
- callers (the agent's event loop) hand over batches and messages with `put` /
  `publish_durable`; that only appends to a list in memory and wakes the pump;
- the pump thread owns the queue: it encodes (assigning `seq`), stores in one transaction,
  sends in queue order within an in-flight window, and removes rows the broker acknowledged;
- paho's network thread reports connects, disconnects and PUBACKs as events to the pump. On
  every (re)connect paho's own resend list is dropped: the pump resends from the oldest
  unacknowledged row, so order is kept and paho never holds data the queue does not.
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from config.plant import Broker, Queue
from edge.model import TelemetryBatch, now_ms
from edge.northbound.encode import (
    agent_status_payload,
    compact_payload,
    device_status_payload,
    tag_payloads,
    telemetry_payload,
)
from edge.northbound.queue import Dropped, DurableQueue, Outgoing, Stored
from uns.client import make_client, parse_broker_url
from uns.topics import Namespace

log = logging.getLogger(__name__)

SEQ_PREFIX = "seq/"
#: the telemetry payloads this publisher writes (docs/northbound.md, "Choosing a payload")
UNS_PAYLOADS = ("uns_json", "uns_compact")
_TAIL_BYTES = 4 * 1024 * 1024  # committed-but-unsent rows kept in memory to avoid re-reading
_EXPIRE_EVERY_S = 1.0
_STORE_RETRY_S = 1.0


@dataclass(slots=True)
class NorthboundStats:
    """Counters the metrics endpoint reads; written by the pump only."""

    values_enqueued: int = 0
    messages_published: int = 0
    values_published: int = 0
    messages_rejected: int = 0
    reconnects: int = 0
    connected: bool = False
    queue_depth: int = 0
    queue_bytes: int = 0
    dropped_messages: int = 0
    dropped_values: int = 0


@dataclass(frozen=True, slots=True)
class _Up:
    epoch: int


@dataclass(frozen=True, slots=True)
class _Down:
    epoch: int


@dataclass(frozen=True, slots=True)
class _Ack:
    epoch: int
    mid: int
    ok: bool


class Northbound:
    """Publishes one agent's traffic through its durable queue. A `BatchSink`."""

    def __init__(
        self,
        broker: Broker,
        namespace: Namespace,
        agent_id: str,
        device_paths: dict[str, str],
        queue: Queue,
        protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
        per_tag_topics: bool = False,
        inflight_window: int | None = None,
        payloads: Sequence[str] = ("uns_json",),
    ) -> None:
        self.broker = broker
        self.ns = namespace
        self.agent_id = agent_id
        self.device_paths = dict(device_paths)
        self.queue_cfg = queue
        self.protocol = protocol
        self.per_tag_topics = per_tag_topics
        #: the UNS telemetry payloads of each batch (config `edge.payloads`), in this order;
        #: other payloads of that list (e.g. Sparkplug B) are published by their own adapters
        self.payloads = tuple(p for p in dict.fromkeys(payloads) if p in UNS_PAYLOADS)
        self.window = inflight_window or queue.inflight_window
        self.stats = NorthboundStats()
        self.status_topic = namespace.agent_status(agent_id)
        self._cond = threading.Condition()
        self._pending: list[TelemetryBatch | Outgoing] = []
        self._pending_values = 0
        #: batches dropped before they reached the disk (the pump could not keep up)
        self._overflow = Dropped()
        self._events: list[_Up | _Down | _Ack] = []
        self._stopping = False
        self._drain_deadline = 0.0
        self._queue: DurableQueue | None = None
        self._client: mqtt.Client | None = None
        self._pump_thread: threading.Thread | None = None
        self._paho_epoch = 0  # written by paho's thread only
        self._connected_once = False
        self._subscriptions: list[tuple[str, Callable[[str, bytes], None]]] = []
        # pump-owned state
        self._seq: dict[str, int] = {}
        self._tail: deque[Stored] = deque()
        self._tail_bytes = 0
        self._cursor = 0
        self._inflight: dict[int, Stored] = {}
        self._epoch = 0
        self._up = False

    # -- the producer side (any thread) -----------------------------------------------------

    def put(self, batch: TelemetryBatch) -> None:
        """Accept one poll's batch; it is on disk within one pump cycle (milliseconds). When
        the pump falls behind by more than `queue.max_pending_values`, the oldest batches not
        yet on disk are dropped and counted: memory stays bounded under overload."""
        if batch.device not in self.device_paths:
            raise KeyError(f"telemetry for unknown device {batch.device!r}")
        with self._cond:
            self._hold([batch])
            self._cond.notify()

    def _hold(self, items: list[TelemetryBatch | Outgoing], first: bool = False) -> None:
        """Add `items` to what waits for the disk (before the rest with `first`), then drop
        the oldest waiting telemetry batches (never other messages) while more than
        `queue.max_pending_values` values wait. Called with `_cond` held."""
        if first:
            self._pending[:0] = items
        else:
            self._pending.extend(items)
        self._pending_values += sum(i.count for i in items if isinstance(i, TelemetryBatch))
        if self._pending_values <= self.queue_cfg.max_pending_values:
            return
        kept: list[TelemetryBatch | Outgoing] = []
        excess = self._pending_values - self.queue_cfg.max_pending_values
        for item in self._pending:
            if excess > 0 and isinstance(item, TelemetryBatch):
                n = item.count
                excess -= n
                self._pending_values -= n
                self._overflow.add(1, n)
            else:
                kept.append(item)
        self._pending = kept

    def publish_durable(
        self, topic: str, payload: bytes, retain: bool = False, qos: int = 1
    ) -> None:
        """Queue any message (alarm events, write results, statuses) behind the same guarantees."""
        if not topic or "+" in topic or "#" in topic:
            raise ValueError(f"cannot publish to topic {topic!r}")
        with self._cond:
            self._pending.append(Outgoing(topic, payload, qos, retain))
            self._cond.notify()

    def device_status(self, device: str, state: str, error: str | None = None) -> None:
        path = self.device_paths[device]
        payload = device_status_payload(device, state, now_ms(), error)
        self.publish_durable(self.ns.device_status(path, device), payload, retain=True)

    def subscribe(self, topic_filter: str, handler: Callable[[str, bytes], None]) -> None:
        """Call `handler(topic, payload)` (on paho's thread) for messages matching the filter;
        subscribed again on every connect. Register before `start`."""
        self._subscriptions.append((topic_filter, handler))

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        q = self.queue_cfg
        self._queue = DurableQueue(q.path, q.max_bytes, q.max_age_s, q.when_full, q.synchronous)
        self._seq = {k[len(SEQ_PREFIX) :]: v for k, v in self._queue.counters(SEQ_PREFIX).items()}
        self._cursor = self._queue.first_id() or 0
        self._refresh_stats()
        client = make_client(self.broker, f"shopfloor-{self.agent_id}", protocol=self.protocol)
        client.max_inflight_messages_set(0)  # the pump keeps its own window
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(1, 2)
        client.will_set(self.status_topic, self._agent_status(False), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        self._client = client
        addr = parse_broker_url(self.broker.url)
        if self.protocol is MQTTProtocolVersion.MQTTv5:
            client.connect_async(addr.host, addr.port, keepalive=30, clean_start=True)
        else:
            client.connect_async(addr.host, addr.port, keepalive=30)
        client.loop_start()
        self._pump_thread = threading.Thread(target=self._pump, name="northbound-pump", daemon=True)
        self._pump_thread.start()

    def stop(self, drain_timeout: float = 2.0) -> None:
        """Store what is pending, wait briefly for in-flight acks, publish the agent offline
        and disconnect. Whatever is not acknowledged stays in the queue for the next start."""
        with self._cond:
            self._stopping = True
            self._drain_deadline = time.monotonic() + drain_timeout
            self._cond.notify()
        if self._pump_thread is not None:
            self._pump_thread.join()
        client = self._client
        if client is not None:
            if client.is_connected():
                info = client.publish(self.status_topic, self._agent_status(False), 1, True)
                try:
                    info.wait_for_publish(timeout=drain_timeout)
                except (RuntimeError, ValueError):
                    log.warning("agent offline status not acknowledged before disconnect")
            client.disconnect()
            client.loop_stop()
        if self._queue is not None:
            self._refresh_stats()
            self._queue.close()

    def _agent_status(self, online: bool) -> bytes:
        return agent_status_payload(self.agent_id, online, sorted(self.device_paths))

    # -- paho's thread: turn callbacks into pump events ---------------------------------------

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any = None
    ) -> None:
        if rc.is_failure:
            log.warning("broker refused the connection", extra={"reason": str(rc)})
            return
        client.drop_out_messages()  # the pump resends from its queue, in order
        self._paho_epoch += 1
        client.publish(self.status_topic, self._agent_status(True), 1, True)
        for topic_filter, _ in self._subscriptions:
            client.subscribe(topic_filter, qos=1)
        with self._cond:
            self._events.append(_Up(self._paho_epoch))
            self._cond.notify()
        log.info("connected to broker", extra={"broker": self.broker.url})

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any = None
    ) -> None:
        with self._cond:
            self._events.append(_Down(self._paho_epoch))
            self._cond.notify()
        if not self._stopping:
            log.warning("lost the broker", extra={"broker": self.broker.url, "reason": str(rc)})

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, rc: ReasonCode, props: Any = None
    ) -> None:
        with self._cond:
            self._events.append(_Ack(self._paho_epoch, mid, not rc.is_failure))
            self._cond.notify()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        for topic_filter, handler in self._subscriptions:
            if mqtt.topic_matches_sub(topic_filter, msg.topic):  # brokers may send extra
                try:
                    handler(msg.topic, bytes(msg.payload))
                except Exception:
                    log.exception("handler of %s failed", topic_filter)

    # -- the pump ---------------------------------------------------------------------------

    def _pump(self) -> None:
        next_expire = time.monotonic() + _EXPIRE_EVERY_S
        while True:
            with self._cond:
                if not (self._pending or self._events or self._stopping):
                    self._cond.wait(0.1)
                pending, self._pending = self._pending, []
                self._pending_values = 0
                events, self._events = self._events, []
                stopping = self._stopping
            try:
                acked = self._apply_events(events)
                if acked:
                    self._queue_or_raise().remove(acked)
            except Exception:  # rows not removed are sent again later: a repeat, not a loss
                log.exception("northbound queue: removing acknowledged messages failed")
            if pending:
                try:
                    self._store(pending)
                except Exception:  # e.g. disk full: keep them in memory and retry
                    log.exception("northbound queue: storing failed; retrying")
                    with self._cond:
                        self._hold(pending, first=True)
                        self._cond.wait(_STORE_RETRY_S)
            try:
                if time.monotonic() >= next_expire:
                    self._expire()
                    next_expire = time.monotonic() + _EXPIRE_EVERY_S
                self._send()
            except Exception:  # the pump must survive anything; the queue keeps the data
                log.exception("northbound pump error")
            self._refresh_stats()
            if stopping and (not self._inflight or time.monotonic() > self._drain_deadline):
                with self._cond:
                    if not self._pending:
                        return

    def _queue_or_raise(self) -> DurableQueue:
        if self._queue is None:
            raise RuntimeError("northbound publisher not started")
        return self._queue

    def _apply_events(self, events: list[_Up | _Down | _Ack]) -> list[int]:
        acked: list[int] = []
        for ev in events:
            if isinstance(ev, _Ack):
                row = self._inflight.pop(ev.mid, None) if ev.epoch == self._epoch else None
                if row is None:
                    continue
                acked.append(row.id)
                if ev.ok:
                    self.stats.messages_published += 1
                    self.stats.values_published += row.values
                else:
                    self.stats.messages_rejected += 1
                    log.error("broker rejected a message", extra={"topic": row.topic})
            else:
                self._rewind()
                self._up = isinstance(ev, _Up)
                self._epoch = ev.epoch
                if self._up:
                    if self._connected_once:
                        self.stats.reconnects += 1
                    self._connected_once = True
        return acked

    def _rewind(self) -> None:
        if self._inflight:
            self._cursor = min(self._cursor, min(r.id for r in self._inflight.values()))
            self._inflight.clear()

    def _store(self, pending: list[TelemetryBatch | Outgoing]) -> None:
        """Encode (assigning seq) and store in one transaction; on failure nothing changed."""
        out: list[Outgoing] = []
        seqs: dict[str, int] = {}
        values = 0
        for item in pending:
            if isinstance(item, Outgoing):
                out.append(item)
                continue
            dev = item.device
            seq = seqs.get(SEQ_PREFIX + dev, self._seq.get(dev, 0)) + 1
            seqs[SEQ_PREFIX + dev] = seq
            path = self.device_paths[dev]
            n = item.count
            counted = n  # the values of a batch count once, whatever the number of payloads
            for kind in self.payloads:
                if kind == "uns_compact":
                    topic = self.ns.telemetry_compact(path, dev)
                    payload = compact_payload(self.agent_id, item, seq)
                else:
                    topic = self.ns.telemetry(path, dev)
                    payload = telemetry_payload(self.agent_id, item, seq)
                out.append(Outgoing(topic, payload, 1, False, counted))
                counted = 0
            values += n
            if self.per_tag_topics:
                for tag, p in tag_payloads(item):
                    out.append(Outgoing(self.ns.tag(path, dev, tag), p, 1, True))
        queue = self._queue_or_raise()
        dropped_before = queue.dropped.messages
        ids = queue.append(out, seqs)
        for key, seq in seqs.items():
            self._seq[key[len(SEQ_PREFIX) :]] = seq
        self.stats.values_enqueued += values
        if queue.dropped.messages != dropped_before:
            self._prune_dropped()
        # when the bound refused or dropped some of these, read what was kept back from disk
        kept = dict(zip(ids, out, strict=True)) if len(ids) == len(out) else self._match_kept(ids)
        for rid, m in kept.items():
            self._tail.append(Stored(rid, m.topic, m.payload, m.qos, m.retain, m.values))
            self._tail_bytes += m.size
        while self._tail_bytes > _TAIL_BYTES and self._tail:
            gone = self._tail.popleft()
            self._tail_bytes -= len(gone.payload) + len(gone.topic)

    def _match_kept(self, ids: list[int]) -> dict[int, Outgoing]:
        """Kept rows read back from disk (rare: only when the bound refused or dropped)."""
        if not ids:
            return {}
        rows = self._queue_or_raise().read(ids[0], len(ids), ids[-1] + 1)
        wanted = set(ids)
        return {
            r.id: Outgoing(r.topic, r.payload, r.qos, r.retain, r.values)
            for r in rows
            if r.id in wanted
        }

    def _prune_dropped(self) -> None:
        first = self._queue_or_raise().first_id()
        while self._tail and (first is None or self._tail[0].id < first):
            gone = self._tail.popleft()
            self._tail_bytes -= len(gone.payload) + len(gone.topic)

    def _expire(self) -> None:
        if self._queue_or_raise().expire().messages:
            self._prune_dropped()

    def _next_rows(self, n: int) -> list[Stored]:
        while self._tail and self._tail[0].id < self._cursor:
            gone = self._tail.popleft()
            self._tail_bytes -= len(gone.payload) + len(gone.topic)
        if self._tail and self._tail[0].id == self._cursor:
            rows: list[Stored] = []
            while self._tail and len(rows) < n:
                row = self._tail.popleft()
                self._tail_bytes -= len(row.payload) + len(row.topic)
                rows.append(row)
            return rows
        below = self._tail[0].id if self._tail else None
        rows = self._queue_or_raise().read(self._cursor, n, below)
        if not rows and self._tail:
            self._cursor = self._tail[0].id
            return self._next_rows(n)
        return rows

    def _send(self) -> None:
        client = self._client
        if client is None:
            return
        while self._up and len(self._inflight) < self.window:
            rows = self._next_rows(self.window - len(self._inflight))
            if not rows:
                return
            for row in rows:
                self._cursor = row.id + 1
                info = client.publish(row.topic, row.payload, row.qos, row.retain)
                if row.qos == 0 and info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                    self._queue_or_raise().remove([row.id])
                    continue
                self._inflight[info.mid] = row
                if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    self._up = False  # the disconnect event will follow; rewind covers this row
                    return

    def _refresh_stats(self) -> None:
        q = self._queue
        if q is None:
            return
        s = self.stats
        s.queue_depth = q.depth
        s.queue_bytes = q.bytes
        with self._cond:
            overflow = Dropped(self._overflow.messages, self._overflow.values)
        s.dropped_messages = q.dropped.messages + overflow.messages
        s.dropped_values = q.dropped.values + overflow.values
        s.connected = self._up
