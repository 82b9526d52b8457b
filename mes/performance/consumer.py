"""MQTT in: telemetry (per-value JSON or compact), device and agent status of the devices that
have work units, into state intervals (`ingest.StateBatch`).

Durable and at-least-once: a persistent session (clean_session false) keeps what arrives while
the MES is down; each message is acknowledged (paho `manual_ack`) only after the transaction that
applied it committed; a redelivered message is recognised by its time (idempotent). A message
that cannot be applied is published to `_mes/deadletter` with the reason, then acknowledged.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

import orjson
from sqlalchemy.engine import Engine
from sqlmodel import Session

from config.plant import Broker
from mes.core.errors import BadMessage
from mes.core.inbox import DurableConsumer
from mes.performance.ingest import StateBatch, ms_time, telemetry_readings
from mes.performance.units import Unit
from uns.telemetry import telemetry_filters
from uns.topics import Namespace


class StateConsumer(DurableConsumer[StateBatch]):
    name = "state-consumer"

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
        sparkplug_group: str | None = None,
        payloads: Sequence[str] = ("uns_json",),
    ) -> None:
        """`payloads`: what the plant's agent publishes (`edge.payloads`): which telemetry
        topics to read (uns/telemetry.py `telemetry_filters`)."""
        super().__init__(
            engine,
            broker,
            namespace,
            client_id or f"shopfloor-mes-states-{socket.gethostname()}",
            max_batch=max_batch,
            tick_s=tick_s,
            on_commit=on_commit,
            sparkplug_group=sparkplug_group,
        )
        self.units = dict(units)
        self.telemetry = telemetry_filters(namespace, payloads)
        self._by_device: dict[str, list[str]] = {}
        for station, unit in self.units.items():
            self._by_device.setdefault(unit.device, []).append(station)
        self._root = namespace.root + "/"
        #: intervals closed
        self.intervals = 0

    def subscriptions(self) -> list[str]:
        root = self.ns.root
        return [
            *self.telemetry,
            f"{root}/+/+/+/+/_status",
            f"{root}/_edge/+/_status",
        ]

    def begin(self, session: Session) -> StateBatch:
        return StateBatch(session, self.units)

    def finish(self, state: StateBatch, tick: bool) -> None:
        if tick:
            self.tick(state, datetime.now(UTC))
        self.intervals += len(state.finish())

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
        if not topic.startswith(self._root):
            raise BadMessage("outside our namespace")
        parts = topic[len(self._root) :].split("/")
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
        if len(parts) == 6 and parts[4:] == ["_telemetry", "compact"]:
            parts.pop()
        elif len(parts) != 5 or parts[4] not in ("_telemetry", "_status"):
            raise BadMessage("not a topic the state consumer reads")
        stations = self._by_device.get(parts[3], [])
        if parts[4] == "_status":
            if not isinstance(body.get("state"), str):
                raise BadMessage("device status without `state`")
            return 0  # device status: telemetry quality says what the tags are worth
        ts, readings = telemetry_readings(body)
        changed = 0
        for station in stations:
            changed += states.observe(station, ts, readings=readings)
        return changed
