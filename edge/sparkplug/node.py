"""The Sparkplug B edge node on MQTT: one session at a time, each with the next bdSeq.

Threads: the agent hands over batches, device statuses and condition events (`put`,
`device_status`, `conditions`); paho's thread reports connects, disconnects and messages
(STATE, NCMD, DCMD); one worker thread owns the `EdgeNode` core, the MQTT session and the
store-and-forward queue, and does what the core decides. A session ends when the broker goes
away or the primary host goes offline (NDEATH published first); the next one takes the next
bdSeq, written to disk before connecting. Live data is QoS 0 as Sparkplug wants; data that
arrives while the node is not online is appended to its durable queue (edge/northbound/queue.py)
and replayed, flagged historical, right after the next births.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTProtocolVersion

from config.plant import PlantConfig
from edge.model import TelemetryBatch, Value, now_ms
from edge.northbound.publisher import NorthboundStats
from edge.northbound.queue import Dropped, DurableQueue, Outgoing
from edge.sparkplug.bdseq import BdSeq
from edge.sparkplug.metrics import ALARMS_METRIC, alias_table
from edge.sparkplug.node_state import (
    Action,
    EdgeNode,
    GoOffline,
    Hold,
    Phase,
    Publish,
    Refused,
    WriteCommand,
)
from uns.client import make_client, parse_broker_url
from uns.sparkplug.settings import group_of, node_of
from uns.sparkplug.topics import NAMESPACE, device_topic, node_topic, state_topic

log = logging.getLogger(__name__)

#: writes a DCMD asks for: (device, tag, value) -> None; the agent runs them like any write
WriteFn = Callable[[str, str, Value], None]
#: a DCMD that is not a write of a known tag: (device, reason), audited like a refused write
RefuseFn = Callable[[str, str], None]
QUEUE_FILE = "sparkplug-queue.sqlite"
_REPLAY_ROWS = 200
_RETRY_S = 1.0
_PACE_S = 5.0


@dataclass(frozen=True, slots=True)
class _Session:
    id: int
    client: mqtt.Client
    bdseq: int


@dataclass(frozen=True, slots=True)
class _Event:
    session: int
    kind: str  # up, down, message
    topic: str = ""
    payload: bytes = b""


class SparkplugNode:
    """A `BatchSink` that publishes Sparkplug B."""

    def __init__(
        self,
        cfg: PlantConfig,
        protocol: MQTTProtocolVersion,
        write: WriteFn,
        refuse: RefuseFn,
    ) -> None:
        e = cfg.edge
        s = e.sparkplug
        self.cfg = cfg
        self.protocol = protocol
        self.write = write
        self.refuse = refuse
        self.group = group_of(cfg)
        self.node_id = node_of(cfg)
        self.core = EdgeNode(self.group, self.node_id, alias_table(cfg.devices), s.primary_host_id)
        self.bdseq = BdSeq(e.state_dir)
        # its own MQTT session beside the UNS JSON one: never the same client id
        own = f"{cfg.broker.client_id}-spb" if cfg.broker.client_id else None
        self._broker = cfg.broker.model_copy(
            update={"client_id": own or f"spb-{self.group}-{self.node_id}"}
        )
        self.queue_path = Path(s.queue_path or Path(e.state_dir) / QUEUE_FILE)
        self.stats = NorthboundStats()
        self._cond = threading.Condition()
        self._inbox: list[TelemetryBatch | _Event | tuple[str, Any]] = []
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._session: _Session | None = None
        self._sessions = 0
        self._retry_at = 0.0
        self._queue: DurableQueue | None = None
        self._held: list[Outgoing] = []
        #: held data the disk refused (counted with what the queue's bounds dropped)
        self._lost = Dropped()
        #: set while the node is online (births published): tests and /metrics read it
        self.online = threading.Event()

    # -- the agent's side (any thread) -------------------------------------------------------

    def put(self, batch: TelemetryBatch) -> None:
        self._post(batch)

    def device_status(self, device: str, state: str, error: str | None = None) -> None:
        if state == "disconnected":
            self._post(("down", device))

    def conditions(self, device: str, events: list[object]) -> None:
        self._post(("conditions", (device, events)))

    def _post(self, item: TelemetryBatch | _Event | tuple[str, Any]) -> None:
        with self._cond:
            self._inbox.append(item)
            self._cond.notify()

    def start(self) -> None:
        q = self.cfg.edge.queue
        self._queue = DurableQueue(
            self.queue_path, q.max_bytes, q.max_age_s, q.when_full, q.synchronous
        )
        self._thread = threading.Thread(target=self._run, name="sparkplug-node", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Publish NDEATH and disconnect (a clean shutdown); held data stays on disk."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()
        self._store_held()
        self._end_session(timeout)
        if self._queue is not None:
            self._queue.close()

    # -- paho's thread -----------------------------------------------------------------------

    def _callbacks(self, client: mqtt.Client, sid: int) -> None:
        def on_connect(c: mqtt.Client, u: Any, f: Any, rc: Any, p: Any = None) -> None:
            if rc.is_failure:
                self._post(_Event(sid, "down"))
                return
            topics = [
                (node_topic(self.group, "NCMD", self.node_id), 1),
                (device_topic(self.group, "DCMD", self.node_id, "+"), 1),
            ]
            host = self.core.primary_host
            if host is not None:
                topics.append((state_topic(host), 1))
            c.subscribe(topics)
            self._post(_Event(sid, "up"))

        def on_disconnect(c: mqtt.Client, u: Any, f: Any, rc: Any, p: Any = None) -> None:
            self._post(_Event(sid, "down"))

        def on_connect_fail(c: mqtt.Client, u: Any) -> None:
            self._post(_Event(sid, "down"))

        def on_message(c: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
            self._post(_Event(sid, "message", msg.topic, bytes(msg.payload)))

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.on_connect_fail = on_connect_fail
        client.on_message = on_message

    # -- the worker --------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._inbox and not self._stopping:
                    self._cond.wait(0.2)
                items, self._inbox = self._inbox, []
                stopping = self._stopping
            for item in items:
                try:
                    self._handle(item)
                except Exception:  # the node must survive anything; held data is on disk
                    log.exception("sparkplug: handling %s failed", type(item).__name__)
            try:
                self._store_held()
            except Exception:  # e.g. disk full: those values are counted as dropped
                log.exception("sparkplug: storing held data failed")
            if stopping:
                return
            if self._session is None and time.monotonic() >= self._retry_at:
                try:
                    self._open_session()
                except Exception:
                    log.exception("sparkplug: cannot start an MQTT session")
                    self._retry_at = time.monotonic() + _RETRY_S

    def _handle(self, item: TelemetryBatch | _Event | tuple[str, Any]) -> None:
        now = now_ms()
        if isinstance(item, TelemetryBatch):
            self.stats.values_enqueued += item.count
            self._do(self.core.telemetry(item, now))
        elif isinstance(item, _Event):
            self._event(item, now)
        elif item[0] == "down":
            self._do(self.core.device_down(item[1], now))
        elif item[0] == "conditions":
            device, events = item[1]
            self._do(self.core.conditions(device, events, now))

    def _event(self, ev: _Event, now: int) -> None:
        session = self._session
        if session is None or ev.session != session.id:
            return  # an event of a session already ended
        if ev.kind == "up":
            self.stats.connected = True
            log.info("sparkplug: connected", extra={"bdseq": session.bdseq})
            self._do(self.core.connected(session.bdseq, now))
        elif ev.kind == "down":
            log.warning("sparkplug: lost the broker; new session with the next bdSeq")
            self._drop_session()
        elif ev.topic.startswith(f"{NAMESPACE}/{self.group}/"):
            self._do(self.core.command(ev.topic, ev.payload, now))
        else:
            self._do(self.core.host_state(ev.payload, now))

    def _do(self, actions: list[Action]) -> None:
        for a in actions:
            if isinstance(a, Publish):
                self._publish(a)
            elif isinstance(a, Hold):
                self._hold(a)
            elif isinstance(a, WriteCommand):
                self.write(a.device, a.tag, a.value)
            elif isinstance(a, Refused):
                self.refuse(a.device, a.reason)
            elif isinstance(a, GoOffline):
                log.warning("sparkplug: primary host offline; NDEATH, then a new session")
                self._end_session(2.0)
        if self.core.phase is Phase.ONLINE:
            if any(isinstance(a, Publish) and "BIRTH" in a.topic for a in actions):
                self._replay()
            self.online.set()
        else:
            self.online.clear()

    def _publish(self, p: Publish) -> None:
        session = self._session
        if session is None:
            return
        info = session.client.publish(p.topic, p.payload, p.qos)
        if info.rc == mqtt.MQTT_ERR_SUCCESS:
            self.stats.messages_published += 1
            self.stats.values_published += p.values

    def _hold(self, h: Hold) -> None:
        """Kept in memory until the end of this worker cycle, then stored in one transaction;
        stored at once when births are about to replay what is held."""
        self._held.append(Outgoing(h.device, orjson.dumps(h.rows), 0, False, len(h.rows)))

    def _store_held(self) -> None:
        q = self._queue
        held, self._held = self._held, []
        if q is None or not held:
            return
        try:
            q.append(held)
        except Exception:
            self._lost.add(len(held), sum(h.values for h in held))
            raise
        finally:
            s = self.stats
            s.queue_depth, s.queue_bytes = q.depth, q.bytes
            s.dropped_messages = q.dropped.messages + self._lost.messages
            s.dropped_values = q.dropped.values + self._lost.values

    def _replay(self) -> None:
        """Held data, oldest first, as historical DDATA (right after the births)."""
        self._store_held()
        q = self._queue
        if q is None:
            return
        while self.core.phase is Phase.ONLINE and self._session is not None:
            first = q.first_id()
            if first is None:
                break
            rows = q.read(first, _REPLAY_ROWS)
            now = now_ms()
            for row in rows:
                held = orjson.loads(row.payload)
                alarms = [r for r in held if r[0] == ALARMS_METRIC]
                data = [r for r in held if r[0] != ALARMS_METRIC]
                actions = self.core.historical(row.topic, data, now)
                for a in alarms:
                    actions += self.core.replay_conditions(row.topic, str(a[1]), int(a[3]), now)
                for a in actions:
                    if isinstance(a, Publish):
                        self._publish(a)
            q.remove([r.id for r in rows])
            self._paced()
        self.stats.queue_depth = q.depth
        self.stats.queue_bytes = q.bytes

    def _paced(self) -> None:
        """Between replayed chunks: let paho write what it holds first (QoS 0 has no
        acknowledgement to wait for), so a large backlog does not pile up in memory."""
        session = self._session
        deadline = time.monotonic() + _PACE_S
        while session is not None and session.client.want_write():
            if time.monotonic() > deadline or not session.client.is_connected():
                return
            time.sleep(0.002)  # paho's network thread empties its buffer meanwhile

    # -- sessions ----------------------------------------------------------------------------

    def _open_session(self) -> None:
        bdseq = self.bdseq.next()  # on disk before the will that carries it exists
        self._sessions += 1
        sid = self._sessions
        client = make_client(
            self._broker, self._broker.client_id or "", self.protocol, reconnect_on_failure=False
        )
        client.will_set(self.core.ndeath_topic, self.core.death(bdseq, now_ms()), qos=1)
        self._callbacks(client, sid)
        addr = parse_broker_url(self.cfg.broker.url)
        if self.protocol is MQTTProtocolVersion.MQTTv5:
            client.connect_async(addr.host, addr.port, keepalive=30, clean_start=True)
        else:
            client.connect_async(addr.host, addr.port, keepalive=30)
        self._session = _Session(sid, client, bdseq)
        client.loop_start()

    def _drop_session(self) -> None:
        session, self._session = self._session, None
        self.core.disconnected()
        self.online.clear()
        self.stats.connected = False
        if session is not None:
            self.stats.reconnects += 1
            session.client.loop_stop()
        self._retry_at = time.monotonic() + _RETRY_S

    def _end_session(self, timeout: float) -> None:
        """NDEATH (what the will would say), then disconnect."""
        session = self._session
        if session is None:
            return
        client = session.client
        if client.is_connected():
            info = client.publish(
                self.core.ndeath_topic, self.core.death(session.bdseq, now_ms()), 1
            )
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError):
                log.warning("sparkplug: NDEATH not acknowledged before disconnect")
            client.disconnect()
        self._drop_session()
        self._retry_at = 0.0
