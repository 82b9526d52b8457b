"""A host application's view of Sparkplug B edge nodes, turning what they publish into the UNS
contract messages (docs/contracts.md sections 1-3) the JSON path carries. No I/O.

Births teach each metric's name, alias, data type, unit and quality, and each device's place
in the plant (`_uns/path`); data then arrives by alias. Out come, as (topic, JSON bytes):
- NBIRTH / NDEATH -> the agent's `_edge/<node>/_status` (online / offline); an NDEATH whose
  bdSeq is not the one of the node's last NBIRTH is stale (an older session's will) and ignored;
- DBIRTH / DDATA -> the device's `_telemetry` (the metrics' values, quality and unit), and a
  DBIRTH also the device `_status` `connected`; DDEATH -> `_status` `disconnected`;
- the `_alarms/events` metric -> the device's `_conditions` message.
Data whose aliases no birth taught (the host started after the births) is not guessed at: the
node is listed in `rebirth_wanted`, and `rebirths_due` gives the NCMDs that ask it for its
births, once per node until its NBIRTH arrives or `REBIRTH_HOLD_OFF_MS` has passed (the data
that keeps coming before the births does not ask again: one request, one set of births).
"""

from dataclasses import dataclass, field
from typing import Any

import orjson

from uns.sparkplug.payload import Metric, Payload, decode, encode
from uns.sparkplug.topics import SparkplugTopic, node_topic, parse
from uns.sparkplug.types import DataType
from uns.topics import Namespace

PATH_METRIC = "_uns/path"
ALARMS_METRIC = "_alarms/events"
BDSEQ = "bdSeq"
REBIRTH = "Node Control/Rebirth"
QUALITY_PROPERTY = "Quality"
UNIT_PROPERTY = "engUnit"
REASON_PROPERTY = "reason"
REBIRTH_HOLD_OFF_MS = 5_000


def quality_name(code: object) -> str:
    """The OPC-style quality code as the contract's quality."""
    if not isinstance(code, int) or isinstance(code, bool):
        return "good"
    if code >= 192:
        return "good"
    return "uncertain" if code >= 64 else "bad"


@dataclass(slots=True)
class _MetricView:
    name: str
    datatype: DataType
    unit: str | None
    quality: str = "good"


@dataclass(slots=True)
class _DeviceView:
    path: str | None = None
    metrics: dict[int, _MetricView] = field(default_factory=dict)
    by_name: dict[str, _MetricView] = field(default_factory=dict)


@dataclass(slots=True)
class _NodeView:
    bdseq: int | None = None
    online: bool = False
    devices: dict[str, _DeviceView] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UnsMessage:
    topic: str
    payload: bytes


def rebirth_request(group: str, node: str, now: int) -> tuple[str, bytes]:
    """The NCMD that asks an edge node for its births again."""
    cmd = Payload(now, [Metric(REBIRTH, None, DataType.BOOLEAN, True)])
    return node_topic(group, "NCMD", node), encode(cmd)


class SparkplugHost:
    def __init__(self, namespace: Namespace, group: str) -> None:
        self.ns = namespace
        self.group = group
        self.nodes: dict[str, _NodeView] = {}
        #: nodes whose data arrived without the births that name it
        self.rebirth_wanted: set[str] = set()
        #: when each node was last asked for a rebirth (ms), until its NBIRTH arrives
        self.rebirth_asked: dict[str, int] = {}

    def rebirths_due(self, now: int) -> list[tuple[str, bytes]]:
        """The NCMDs to publish now (topic, payload) for the nodes that want a rebirth and were
        not asked in the last `REBIRTH_HOLD_OFF_MS`."""
        due = [
            node
            for node in sorted(self.rebirth_wanted)
            if now - self.rebirth_asked.get(node, now - REBIRTH_HOLD_OFF_MS) >= REBIRTH_HOLD_OFF_MS
        ]
        self.rebirth_wanted.clear()
        for node in due:
            self.rebirth_asked[node] = now
        return [rebirth_request(self.group, node, now) for node in due]

    def receive(self, topic: str, payload: bytes) -> list[UnsMessage]:
        """The UNS messages one Sparkplug message stands for ([] for commands and what is not
        ours). NotSparkplug or BadPayload (both ValueError) for a message that is broken."""
        where = parse(topic)
        if where.group != self.group or where.type in ("NCMD", "DCMD"):
            return []
        body = decode(payload)
        node = self.nodes.setdefault(where.node, _NodeView())
        if where.type == "NBIRTH":
            return self._nbirth(where, node, body)
        if where.type == "NDEATH":
            return self._ndeath(where, node, body)
        assert where.device is not None
        if where.type == "DBIRTH":
            return self._dbirth(where, node, where.device, body)
        device = node.devices.get(where.device)
        if device is None or device.path is None:
            self.rebirth_wanted.add(where.node)
            return []
        if where.type == "DDEATH":
            return [self._device_status(device, where.device, "disconnected", body.timestamp)]
        if where.type == "DDATA":
            return self._data(where, device, where.device, body)
        return []  # NDATA: node metrics are not plant data

    def _agent_status(self, node: str, view: _NodeView, online: bool, ts: int) -> UnsMessage:
        status = {
            "v": 1,
            "agent": node,
            "online": online,
            "since": ts,
            "devices": [f"{d.path}/{n}" for n, d in view.devices.items() if d.path is not None],
        }
        if not status["devices"]:
            del status["devices"]  # not yet known: the consumer takes every device
        return UnsMessage(self.ns.agent_status(node), orjson.dumps(status))

    def _nbirth(self, where: SparkplugTopic, node: _NodeView, body: Payload) -> list[UnsMessage]:
        bdseq = next((m.value for m in body.metrics if m.name == BDSEQ), None)
        node.bdseq = bdseq if isinstance(bdseq, int) else None
        node.online = True
        node.devices.clear()  # the DBIRTHs that follow say what the devices are now
        self.rebirth_wanted.discard(where.node)
        self.rebirth_asked.pop(where.node, None)
        return [self._agent_status(where.node, node, True, body.timestamp)]

    def _ndeath(self, where: SparkplugTopic, node: _NodeView, body: Payload) -> list[UnsMessage]:
        bdseq = next((m.value for m in body.metrics if m.name == BDSEQ), None)
        if node.bdseq is not None and bdseq != node.bdseq:
            return []  # the will of a session that is already over
        node.online = False
        return [self._agent_status(where.node, node, False, body.timestamp)]

    def _dbirth(
        self, where: SparkplugTopic, node: _NodeView, name: str, body: Payload
    ) -> list[UnsMessage]:
        device = _DeviceView()
        for m in body.metrics:
            if m.name is None:
                continue
            if m.name == PATH_METRIC and isinstance(m.value, str):
                device.path = m.value
            unit = m.properties.get(UNIT_PROPERTY)
            view = _MetricView(m.name, m.datatype, unit if isinstance(unit, str) else None)
            view.quality = quality_name(m.properties.get(QUALITY_PROPERTY, 192))
            if m.alias is not None:
                device.metrics[m.alias] = view
            device.by_name[m.name] = view
        if device.path is None:
            return []  # not one of ours: no place in the plant
        node.devices[name] = device
        out = [self._device_status(device, name, "connected", body.timestamp)]
        out += self._data(where, device, name, body)
        return out

    def _device_status(self, device: _DeviceView, name: str, state: str, ts: int) -> UnsMessage:
        body = {"v": 1, "device": name, "state": state, "since": ts}
        return UnsMessage(self.ns.device_status(str(device.path), name), orjson.dumps(body))

    def _data(
        self, where: SparkplugTopic, device: _DeviceView, name: str, body: Payload
    ) -> list[UnsMessage]:
        values: list[dict[str, Any]] = []
        out: list[UnsMessage] = []
        path = str(device.path)
        for m in body.metrics:
            view = device.metrics.get(m.alias) if m.alias is not None else None
            if view is None and m.name is not None:
                view = device.by_name.get(m.name)
            if view is None:
                self.rebirth_wanted.add(where.node)
                continue
            if view.name == PATH_METRIC:
                continue
            ts = m.timestamp if m.timestamp is not None else body.timestamp
            if view.name == ALARMS_METRIC:
                events = orjson.loads(m.value) if isinstance(m.value, str) else []
                if events:
                    message = {"v": 1, "agent": where.node, "device": name, "ts": ts}
                    message["events"] = events
                    out.append(UnsMessage(f"{self.ns.device(path, name)}/_conditions",
                                          orjson.dumps(message)))  # fmt: skip
                continue
            if QUALITY_PROPERTY in m.properties:
                view.quality = quality_name(m.properties[QUALITY_PROPERTY])
            value: dict[str, Any] = {
                "tag": view.name, "value": m.value, "quality": view.quality, "ts": ts
            }  # fmt: skip
            if view.unit is not None:
                value["unit"] = view.unit
            reason = m.properties.get(REASON_PROPERTY)
            if isinstance(reason, str) and view.quality != "good":
                value["reason"] = reason
            if m.is_historical:
                value["historical"] = True
            values.append(value)
        if values:
            telemetry = {
                "v": 1,
                "agent": where.node,
                "device": name,
                "seq": body.seq or 0,
                "ts": body.timestamp,
                "values": values,
            }
            out.insert(0, UnsMessage(self.ns.telemetry(path, name), orjson.dumps(telemetry)))
        return out
