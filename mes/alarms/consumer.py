"""MQTT in: condition events from the edge agents, and their `_status` (the will says when an
agent went silent) and device statuses, applied to the alarm lifecycle.

Messages are acknowledged to the broker (paho `manual_ack`) only after the transaction that
applied them committed; a persistent session keeps what arrives while the MES is down. Several
messages are applied per transaction (group commit), which is what carries an alarm flood.
"""

import logging
import queue
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTProtocolVersion
from sqlalchemy.engine import Engine
from sqlmodel import Session

from config.plant import Broker
from edge.alarms.conditions import ConditionEvent
from edge.alarms.topics import SUFFIX, all_conditions
from mes.alarms.service import AlarmService, ms_to_dt
from uns.client import make_client, parse_broker_url
from uns.topics import Namespace

log = logging.getLogger(__name__)


class BadMessage(ValueError):
    pass


class ConditionConsumer:
    def __init__(
        self,
        engine: Engine,
        broker: Broker,
        namespace: Namespace,
        service: AlarmService,
        on_commit: Callable[[], None] = lambda: None,
        client_id: str | None = None,
        max_batch: int = 500,
    ) -> None:
        self.engine = engine
        self.ns = namespace
        self.service = service
        self._on_commit = on_commit
        self._max_batch = max_batch
        self._inbox: queue.Queue[mqtt.MQTTMessage | None] = queue.Queue()
        self._broker = broker
        # one persistent session per MES host; replicas each apply every message, and the
        # journal's unique event_id makes the second application a no-op
        self._client = make_client(
            broker,
            client_id or f"shopfloor-mes-alarms-{socket.gethostname()}",
            protocol=MQTTProtocolVersion.MQTTv311,
            manual_ack=True,
            clean_session=False,
        )
        self._client.reconnect_delay_set(1, 5)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._thread: threading.Thread | None = None
        self.subscribed = threading.Event()
        #: messages committed (and acknowledged), changes they made, bad ones skipped
        self.handled = 0
        self.applied = 0
        self.rejected = 0
        self._conditions_filter = all_conditions(namespace)
        self._agent_filter = f"{namespace.root}/_edge/+/_status"
        self._device_filter = f"{namespace.root}/+/+/+/+/_status"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="alarm-consumer", daemon=True)
        self._thread.start()
        addr = parse_broker_url(self._broker.url)
        self._client.connect_async(addr.host, addr.port, keepalive=30)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        self._inbox.put(None)
        if self._thread is not None:
            self._thread.join(10)

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any = None) -> None:
        if getattr(rc, "is_failure", False):
            return
        client.subscribe(
            [(self._conditions_filter, 1), (self._agent_filter, 1), (self._device_filter, 1)]
        )
        self.subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self._inbox.put(msg)

    def _run(self) -> None:
        while True:
            first = self._inbox.get()
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
            self._apply(batch)

    def _apply(self, batch: list[mqtt.MQTTMessage]) -> None:
        while True:
            try:
                with Session(self.engine) as session:
                    for msg in batch:
                        try:
                            self.applied += self.handle(session, msg.topic, bytes(msg.payload))
                        except BadMessage as exc:
                            self.rejected += 1
                            log.error("ignored message on %s: %s", msg.topic, exc)
                    session.commit()
                break
            except Exception:  # the database is away: keep the messages unacknowledged
                log.exception("applying %d alarm messages failed; retrying", len(batch))
                threading.Event().wait(1.0)
        for msg in batch:
            self._client.ack(msg.mid, msg.qos)
        self.handled += len(batch)
        self._on_commit()

    def handle(self, session: Session, topic: str, payload: bytes) -> int:
        """Apply one message (not committed); BadMessage names what is wrong with it."""
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
        if len(parts) == 5 and parts[4] == SUFFIX:
            return self._conditions(session, parts[3], body)
        if len(parts) == 3 and parts[0] == "_edge" and parts[2] == "_status":
            online = body.get("online")
            if not isinstance(online, bool):
                raise BadMessage("agent status without boolean `online`")
            return int(self.service.on_agent_status(session, parts[1], online, _since(body)))
        if len(parts) == 5 and parts[4] == "_status":
            state = body.get("state")
            if not isinstance(state, str):
                raise BadMessage("device status without `state`")
            error = body.get("error")
            return int(
                self.service.on_device_status(
                    session, parts[3], state, str(error) if error else None, _since(body)
                )
            )
        raise BadMessage("not a topic the alarm service reads")

    def _conditions(self, session: Session, device: str, body: dict[str, Any]) -> int:
        raw = body.get("events")
        if not isinstance(raw, list):
            raise BadMessage("`events` must be a list")
        events = []
        for i, item in enumerate(raw):
            try:
                if not isinstance(item, dict):
                    raise TypeError("not an object")
                ev = ConditionEvent.from_json(device, item)
                ms_to_dt(ev.ts)  # a timestamp out of range is the message's fault
                if ev.since is not None:
                    ms_to_dt(ev.since)
            except KeyError as exc:
                raise BadMessage(f"events[{i}]: missing {exc}") from None
            except (ValueError, TypeError, OverflowError, OSError) as exc:
                raise BadMessage(f"events[{i}]: {exc}") from None
            events.append(ev)
        return self.service.on_conditions(session, events)


def _since(body: dict[str, Any]) -> datetime:
    since = body.get("since")
    if isinstance(since, int | float) and since > 0:
        try:
            return ms_to_dt(int(since))
        except (ValueError, OverflowError, OSError):
            raise BadMessage(f"`since` {since} is not a time") from None
    return datetime.now(UTC)
