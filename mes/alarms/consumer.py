"""MQTT in: condition events from the edge agents, and their `_status` (the will says when an
agent went silent) and device statuses, applied to the alarm lifecycle.

Messages are acknowledged to the broker (paho `manual_ack`) only after the transaction that
applied them committed; a persistent session keeps what arrives while the MES is down. Several
messages are applied per transaction (group commit), which is what carries an alarm flood.
"""

import socket
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.engine import Engine
from sqlmodel import Session

from config.plant import Broker
from edge.alarms.conditions import ConditionEvent
from edge.alarms.topics import SUFFIX, all_conditions
from mes.alarms.service import AlarmService, ms_to_dt
from mes.core.errors import BadMessage
from mes.core.inbox import DurableConsumer
from uns.topics import Namespace


class ConditionConsumer(DurableConsumer[Session]):
    """One persistent session per MES host; replicas each apply every message, and the
    journal's unique event_id makes the second application a no-op."""

    name = "alarm-consumer"

    def __init__(
        self,
        engine: Engine,
        broker: Broker,
        namespace: Namespace,
        service: AlarmService,
        on_commit: Callable[[], None] = lambda: None,
        client_id: str | None = None,
        max_batch: int = 500,
        sparkplug_group: str | None = None,
    ) -> None:
        super().__init__(
            engine,
            broker,
            namespace,
            client_id or f"shopfloor-mes-alarms-{socket.gethostname()}",
            max_batch=max_batch,
            on_commit=on_commit,
            sparkplug_group=sparkplug_group,
        )
        self.service = service

    def subscriptions(self) -> list[str]:
        root = self.ns.root
        return [all_conditions(self.ns), f"{root}/_edge/+/_status", f"{root}/+/+/+/+/_status"]

    def begin(self, session: Session) -> Session:
        return session

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
