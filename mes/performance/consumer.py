"""MQTT in: telemetry, device and agent status of the devices that have work units, into state
intervals (`ingest.StateBatch`).

Durable and at-least-once: a persistent session (clean_session false) keeps what arrives while
the MES is down; each message is acknowledged (paho `manual_ack`) only after the transaction that
applied it committed; a redelivered message is recognised by its time (idempotent). A message
that cannot be applied is published to `_mes/deadletter` with the reason, then acknowledged.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTProtocolVersion
from sqlalchemy.engine import Engine
from sqlmodel import Session

from config.plant import Broker
from mes.performance.ingest import BadMessage, StateBatch, ms_time, telemetry_readings
from mes.performance.units import Unit
from uns.client import make_client, parse_broker_url
from uns.topics import Namespace

log = logging.getLogger(__name__)


class StateConsumer:
    def __init__(
        self,
        engine: Engine,
        broker: Broker,
        namespace: Namespace,
        units: Mapping[str, Unit],
        *,
        client_id: str | None = None,
        max_batch: int = 1000,
        tick_s: float = 5.0,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self.engine = engine
        self.ns = namespace
        self.units = dict(units)
        self._by_device: dict[str, list[str]] = {}
        for station, unit in self.units.items():
            self._by_device.setdefault(unit.device, []).append(station)
        self._max_batch = max_batch
        self._tick_s = tick_s
        self._last_tick = time.monotonic()
        self._on_commit = on_commit
        self._inbox: queue.Queue[mqtt.MQTTMessage | None] = queue.Queue()
        self._broker = broker
        self._client = make_client(
            broker,
            client_id or f"shopfloor-mes-states-{socket.gethostname()}",
            protocol=MQTTProtocolVersion.MQTTv311,
            manual_ack=True,
            clean_session=False,
        )
        self._client.reconnect_delay_set(1, 5)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.subscribed = threading.Event()
        #: messages committed, messages sent to the dead-letter topic, intervals closed
        self.handled = 0
        self.rejected = 0
        self.intervals = 0

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="state-consumer", daemon=True)
        self._thread.start()
        addr = parse_broker_url(self._broker.url)
        self._client.connect_async(addr.host, addr.port, keepalive=30)
        self._client.loop_start()

    def stop(self) -> None:
        self._stopping.set()
        self._client.disconnect()
        self._client.loop_stop()
        self._inbox.put(None)
        if self._thread is not None:
            self._thread.join(10)

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any = None) -> None:
        if getattr(rc, "is_failure", False):
            return
        client.subscribe(
            [
                (f"{self.ns.root}/+/+/+/+/_telemetry", 1),
                (f"{self.ns.root}/+/+/+/+/_status", 1),
                (f"{self.ns.root}/_edge/+/_status", 1),
            ]
        )
        self.subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self._inbox.put(msg)

    def _run(self) -> None:
        while True:
            try:
                first = self._inbox.get(timeout=self._tick_s)
            except queue.Empty:
                self._commit([])
                continue
            if first is None:
                return
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    nxt = self._inbox.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._inbox.put(None)
                    break
                batch.append(nxt)
            self._commit(batch)

    def _commit(self, batch: list[mqtt.MQTTMessage]) -> None:
        while not self._stopping.is_set():
            bad: list[tuple[mqtt.MQTTMessage, str]] = []
            try:
                with Session(self.engine) as session:
                    states = StateBatch(session, self.units)
                    for msg in batch:
                        try:
                            self.handle(states, msg.topic, bytes(msg.payload))
                        except BadMessage as exc:
                            bad.append((msg, str(exc)))
                    if self._tick_due():
                        self.tick(states, datetime.now(UTC))
                    self.intervals += len(states.finish())
                    session.commit()
                break
            except Exception:  # the database is away: keep the messages unacknowledged
                log.exception("applying %d state messages failed; retrying", len(batch))
                self._stopping.wait(1.0)
        else:
            return
        for msg, reason in bad:
            self.rejected += 1
            log.error("state message on %s sent to the dead-letter topic: %s", msg.topic, reason)
            self._client.publish(
                self.ns.dead_letter, dead_letter(msg.topic, bytes(msg.payload), reason), 1
            )
        for msg in batch:
            self._client.ack(msg.mid, msg.qos)
        self.handled += len(batch)
        if batch:
            self._on_commit()

    def _tick_due(self) -> bool:
        """Every `tick_s`, and only with nothing waiting: a backlog (after a restart) is
        applied at its own times before the clock moves the work units on."""
        now = time.monotonic()
        if not self._inbox.empty() or now - self._last_tick < self._tick_s:
            return False
        self._last_tick = now
        return True

    def tick(self, states: StateBatch, now: datetime) -> None:
        """Let time pass for every unit (silence detection; heartbeats of online agents)."""
        for station in self.units:
            states.tick(station, now, heartbeat=True)

    def handle(self, states: StateBatch, topic: str, payload: bytes) -> int:
        """Apply one message; returns the work units it changed. BadMessage says why not."""
        try:
            body = orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise BadMessage("not JSON") from None
        if not isinstance(body, dict):
            raise BadMessage("not a JSON object")
        root = self.ns.root + "/"
        if not topic.startswith(root):
            raise BadMessage("outside our namespace")
        parts = topic[len(root) :].split("/")
        if len(parts) == 3 and parts[0] == "_edge" and parts[2] == "_status":
            online = body.get("online")
            if not isinstance(online, bool):
                raise BadMessage("agent status without boolean `online`")
            ms_time(body.get("since", 0) or 0, "since")  # a bad `since` is the message's fault
            heard = datetime.now(UTC)  # the will is sent when the broker notices: now
            devices = body.get("devices")
            names = (
                [d.rsplit("/", 1)[-1] for d in devices if isinstance(d, str)]
                if isinstance(devices, list)
                else list(self._by_device)
            )
            stations = [s for d in names for s in self._by_device.get(d, [])]
            return sum(states.observe(s, heard, online=online) for s in stations)
        if len(parts) != 5 or parts[4] not in ("_telemetry", "_status"):
            raise BadMessage("not a topic the state consumer reads")
        stations = self._by_device.get(parts[3], [])
        if parts[4] == "_status":
            if not isinstance(body.get("state"), str):
                raise BadMessage("device status without `state`")
            return 0  # device status: telemetry quality says what the tags are worth
        ts, readings = telemetry_readings(body)
        return sum(states.observe(s, ts, readings=readings) for s in stations)


def dead_letter(topic: str, payload: bytes, reason: str) -> bytes:
    """The `_mes/deadletter` payload: where the message came from, why not, and what it was."""
    return orjson.dumps(
        {
            "v": 1,
            "topic": topic,
            "reason": reason,
            "payload": payload.decode("utf-8", "replace"),
            "at": datetime.now(UTC).isoformat(),
        }
    )
