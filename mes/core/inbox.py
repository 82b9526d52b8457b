"""A durable MQTT consumer that applies messages to the database in batches.

At least once, nothing lost: a persistent session (clean_session false) keeps what arrives while
the MES is down, and each message is acknowledged (paho `manual_ack`) only after the transaction
that applied it committed. Several messages are applied per transaction (group commit). A message
that cannot be applied (`BadMessage`, or a constraint the database refuses for that message alone)
is published to the dead-letter topic with the reason, then acknowledged: one poison message
never holds the others back. While the database is away, the batch is retried.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Generic, TypeVar

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTProtocolVersion
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session

from config.plant import Broker
from mes.core.errors import BadMessage
from uns.client import make_client, parse_broker_url
from uns.sparkplug.host import SparkplugHost
from uns.sparkplug.topics import NAMESPACE, group_filter
from uns.topics import Namespace

log = logging.getLogger(__name__)
S = TypeVar("S")

#: refused by the database for what one message carries, not because the database is away
MESSAGE_FAULTS = (IntegrityError, DataError)
SPARKPLUG_PREFIX = f"{NAMESPACE}/"


class DurableConsumer(ABC, Generic[S]):
    """`S`: the state one transaction's messages share (the session itself will do)."""

    #: what the consumer is called in logs and in its thread's name
    name = "consumer"

    def __init__(
        self,
        engine: Engine,
        broker: Broker,
        namespace: Namespace,
        client_id: str,
        *,
        max_batch: int,
        tick_s: float | None = None,
        on_commit: Callable[[], None] = lambda: None,
        sparkplug_group: str | None = None,
    ) -> None:
        """`sparkplug_group`: also read the Sparkplug B edge nodes of that group, as the UNS
        messages they stand for (uns/sparkplug/host.py)."""
        self.engine = engine
        self.ns = namespace
        self._broker = broker
        self._max_batch = max_batch
        self._tick_s = tick_s
        self._on_commit = on_commit
        # paho's thread appends, the consumer's thread takes batches; None: stop. The event
        # wakes a consumer that found nothing waiting (set only while it is clear: one cheap
        # check per message, no lock)
        self._pending: deque[mqtt.MQTTMessage | None] = deque()
        self._wake = threading.Event()
        self._client = make_client(
            broker,
            client_id,
            protocol=MQTTProtocolVersion.MQTTv311,
            manual_ack=True,
            clean_session=False,
        )
        self._client.reconnect_delay_set(1, 5)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._thread: threading.Thread | None = None
        self._spb = SparkplugHost(namespace, sparkplug_group) if sparkplug_group else None
        self._stopping = threading.Event()
        self.subscribed = threading.Event()
        #: messages committed (and acknowledged); messages sent to the dead-letter topic
        self.handled = 0
        self.rejected = 0
        #: changes the committed messages made
        self.applied = 0

    @abstractmethod
    def subscriptions(self) -> Sequence[str]:
        """The topic filters, subscribed at QoS 1."""

    @abstractmethod
    def begin(self, session: Session) -> S:
        """The state a transaction's messages share."""

    @abstractmethod
    def handle(self, state: S, topic: str, payload: bytes) -> int:
        """Apply one message, not committed; returns the changes it made. BadMessage names what
        is wrong with it."""

    def finish(self, state: S, tick: bool) -> None:
        """Before the commit: work every transaction ends with (`tick`: time to let time pass)."""

    def start(self) -> None:
        self._stopping.clear()
        # what a previous connection left unacknowledged, the broker sends again (persistent
        # session): copies still waiting here are not applied twice
        self._pending.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        addr = parse_broker_url(self._broker.url)
        self._client.connect_async(addr.host, addr.port, keepalive=30)
        self._client.loop_start()

    def stop(self) -> None:
        self._stopping.set()
        self._client.disconnect()
        self._client.loop_stop()
        self._pending.append(None)
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)

    def _on_connect(
        self, client: mqtt.Client, _u: object, _f: object, rc: object, _p: object = None
    ) -> None:
        if getattr(rc, "is_failure", False):
            return
        topics = [(f, 1) for f in self.subscriptions()]
        if self._spb is not None:
            topics.append((group_filter(self._spb.group), 1))
        client.subscribe(topics)
        self.subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        self._pending.append(msg)
        if not self._wake.is_set():
            self._wake.set()

    def _run(self) -> None:
        last_tick = time.monotonic()
        pending = self._pending
        while True:
            if not pending:
                # clear, then look again: a message appended in between is seen here, one
                # appended after sets the event again
                self._wake.clear()
                if not pending:
                    self._wake.wait(self._tick_s)
            batch: list[mqtt.MQTTMessage] = []
            end = False
            while pending and len(batch) < self._max_batch:
                msg = pending.popleft()
                if msg is None:
                    end = True
                    break
                batch.append(msg)
            if not batch and (end or self._stopping.is_set()):
                return
            # time passes every tick_s, and only with nothing waiting: a backlog (after a
            # restart) is applied at its own times before the clock moves on
            now = time.monotonic()
            tick = self._tick_s is not None and not pending and now - last_tick >= self._tick_s
            if tick:
                last_tick = now
            self._commit(batch, tick)
            if end:
                return

    def _commit(self, batch: list[mqtt.MQTTMessage], tick: bool) -> None:
        while not self._stopping.is_set():
            try:
                bad = self._apply(batch, tick)
                break
            except MESSAGE_FAULTS as exc:
                if len(batch) == 1:
                    bad = [(batch[0], f"refused by the database: {exc.orig}")]
                    break
                # one message's fault spoils the batch: apply them one by one
                for i, msg in enumerate(batch):
                    self._commit([msg], tick and i == len(batch) - 1)
                return
            except Exception:  # the database is away: keep the messages unacknowledged
                log.exception("%s: applying %d messages failed; retrying", self.name, len(batch))
                self._stopping.wait(1.0)
        else:
            return
        for msg, reason in bad:
            self._dead_letter(msg, reason)
        for msg in batch:
            self._client.ack(msg.mid, msg.qos)
        self.handled += len(batch)
        if batch:
            self._on_commit()

    def _apply(
        self, batch: list[mqtt.MQTTMessage], tick: bool
    ) -> list[tuple[mqtt.MQTTMessage, str]]:
        bad = []
        changed = 0
        with Session(self.engine) as session:
            state = self.begin(session)
            plain = self._spb is None
            for msg in batch:
                try:
                    if plain:
                        changed += self.handle(state, msg.topic, bytes(msg.payload))
                        continue
                    for topic, payload in self._translate(msg.topic, bytes(msg.payload)):
                        changed += self.handle(state, topic, payload)
                except BadMessage as exc:
                    bad.append((msg, str(exc)))
            self.finish(state, tick)
            session.commit()
        self.applied += changed
        return bad

    def _translate(self, topic: str, payload: bytes) -> list[tuple[str, bytes]]:
        """The UNS messages one message stands for: itself, or what a Sparkplug B message
        carries that this consumer subscribes to (an edge node whose aliases are unknown is
        asked for a rebirth)."""
        if self._spb is None or not topic.startswith(SPARKPLUG_PREFIX):
            return [(topic, payload)]
        try:
            translated = self._spb.receive(topic, payload)
        except ValueError as exc:
            raise BadMessage(str(exc)) from None
        for request in self._spb.rebirths_due(int(time.time() * 1000)):
            self._client.publish(*request, 0)
        wanted = self.subscriptions()
        return [
            (m.topic, m.payload)
            for m in translated
            if any(mqtt.topic_matches_sub(f, m.topic) for f in wanted)
        ]

    def _dead_letter(self, msg: mqtt.MQTTMessage, reason: str) -> None:
        self.rejected += 1
        log.error(
            "%s: message on %s sent to the dead-letter topic: %s", self.name, msg.topic, reason
        )
        self._client.publish(
            self.ns.dead_letter, dead_letter(msg.topic, bytes(msg.payload), reason), 1
        )


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
