"""The Sparkplug B edge node without I/O: messages in, decisions out.

Phases: `offline` (no MQTT session), `waiting` (connected, the primary host application's
STATE not yet online), `online` (births published, data flows). The adapter (edge/sparkplug/
node.py) owns the MQTT session, the bdSeq file and the store-and-forward queue; this module
decides what each message is and which come out:
- `connected(bdseq)`: births now, or wait for the primary host;
- `host_state(online, ts)`: births when the host comes online, `GoOffline` when it leaves
  (the adapter then publishes NDEATH, disconnects and reconnects with the next bdSeq);
- `telemetry(batch)`: DDATA by exception (aliases only), a DBIRTH first for a device not yet
  born, or `Hold` while not online (the adapter keeps it in the durable queue);
- `historical(device, rows)`: held rows replayed as DDATA flagged `is_historical`;
- `command(topic, payload)`: NCMD `Node Control/Rebirth` -> births; DCMD -> `WriteCommand`s.
`seq` runs 0-255 over every message but NDEATH, from 0 at each NBIRTH.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import orjson

from edge.model import Quality, Reading, ReadingBlock, TelemetryBatch, Value
from edge.sparkplug.metrics import (
    ALARMS_METRIC,
    BDSEQ,
    PATH_METRIC,
    REBIRTH,
    REBIRTH_ALIAS,
    DeviceMetrics,
)
from uns.sparkplug.payload import Metric, Payload, decode, encode
from uns.sparkplug.topics import device_topic, node_topic, parse
from uns.sparkplug.types import INTEGERS, DataType, datatype_of

#: the quality property, as the usual OPC-style codes Sparkplug hosts read
QUALITY_PROPERTY = "Quality"
UNIT_PROPERTY = "engUnit"
REASON_PROPERTY = "reason"
QUALITY_CODE = {Quality.GOOD: 192, Quality.UNCERTAIN: 64, Quality.BAD: 0}


class Phase(StrEnum):
    OFFLINE = "offline"
    WAITING = "waiting"
    ONLINE = "online"


@dataclass(frozen=True, slots=True)
class Publish:
    topic: str
    payload: bytes
    qos: int = 0
    values: int = 0


@dataclass(frozen=True, slots=True)
class Hold:
    """Not online: keep these readings (store-and-forward) and replay them later."""

    device: str
    rows: list[list[object]]


@dataclass(frozen=True, slots=True)
class GoOffline:
    """The primary host left: publish NDEATH, disconnect, reconnect with the next bdSeq."""


@dataclass(frozen=True, slots=True)
class WriteCommand:
    device: str
    tag: str
    value: Value


@dataclass(frozen=True, slots=True)
class Refused:
    """A command that cannot become a write (unknown device or metric); the reason."""

    device: str
    reason: str


Action = Publish | Hold | GoOffline | WriteCommand | Refused


@dataclass(slots=True)
class _Last:
    """The last value of a metric (what a birth carries, what exceptions compare with)."""

    value: Value
    quality: Quality
    ts: int
    reason: str | None = None


@dataclass(slots=True)
class _Device:
    metrics: DeviceMetrics
    datatypes: dict[str, DataType]
    last: dict[str, _Last] = field(default_factory=dict)
    born: bool = False
    #: tag -> alias, and the tags whose type is learnt from their values (no configured type)
    aliases: dict[str, int] = field(default_factory=dict)
    learnt: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.aliases = {n: m.alias for n, m in self.metrics.tags.items()}
        self.learnt = frozenset(n for n, m in self.metrics.tags.items() if m.datatype is None)


_FLOATS = frozenset((DataType.FLOAT, DataType.DOUBLE))


def _fits(datatype: DataType, value: Value) -> bool:
    if value is None:
        return True
    if datatype is DataType.BOOLEAN:
        return isinstance(value, bool)
    if datatype in (DataType.STRING, DataType.TEXT):
        return isinstance(value, str)
    if isinstance(value, bool | str):
        return False
    return datatype not in INTEGERS or isinstance(value, int)


def reading_row(r: Reading) -> list[object]:
    """A reading as kept in the store-and-forward queue."""
    return [r.tag, r.value, r.quality.value, r.ts, r.reason]


class EdgeNode:
    def __init__(
        self,
        group: str,
        node: str,
        devices: Sequence[DeviceMetrics],
        primary_host: str | None,
    ) -> None:
        self.group = group
        self.node = node
        self.primary_host = primary_host
        self.devices = {
            d.device: _Device(
                d, {n: m.datatype for n, m in d.tags.items() if m.datatype is not None}
            )
            for d in devices
        }
        self.phase = Phase.OFFLINE
        self.bdseq = 0
        self.seq = 0
        self._host_ts = -1
        self._aliases = {d.device: {m.alias: n for n, m in d.tags.items()} for d in devices}

    # -- session --------------------------------------------------------------------------

    def connected(self, bdseq: int, now: int) -> list[Action]:
        """A new MQTT session whose will is NDEATH with `bdseq`."""
        self.bdseq = bdseq
        for d in self.devices.values():
            d.born = False
        if self.primary_host is None:
            return self._births(now)
        self.phase = Phase.WAITING
        return []

    def disconnected(self) -> None:
        self.phase = Phase.OFFLINE
        for d in self.devices.values():
            d.born = False

    def death(self, bdseq: int, now: int) -> bytes:
        """The NDEATH payload (the session's will): only the bdSeq, no seq."""
        return encode(Payload(now, [Metric(BDSEQ, None, DataType.INT64, bdseq)]))

    @property
    def ndeath_topic(self) -> str:
        return node_topic(self.group, "NDEATH", self.node)

    def host_state(self, payload: bytes, now: int) -> list[Action]:
        """A STATE message of the primary host (`{"online": bool, "timestamp": ms}`). One
        older than the last seen is ignored (a stale retained message)."""
        try:
            body = orjson.loads(payload)
            online = body["online"]
            ts = int(body.get("timestamp", 0))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return []
        if not isinstance(online, bool) or ts < self._host_ts:
            return []
        self._host_ts = ts
        if online and self.phase is Phase.WAITING:
            return self._births(now)
        if not online and self.phase is Phase.ONLINE:
            self.phase = Phase.WAITING
            return [GoOffline()]
        return []

    # -- births ---------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self.seq = (self.seq + 1) % 256
        return self.seq

    def _births(self, now: int) -> list[Action]:
        self.phase = Phase.ONLINE
        self.seq = 0
        nbirth = Payload(
            now,
            [
                Metric(BDSEQ, None, DataType.INT64, self.bdseq),
                Metric(REBIRTH, REBIRTH_ALIAS, DataType.BOOLEAN, False),
            ],
            seq=0,
        )
        out: list[Action] = [Publish(node_topic(self.group, "NBIRTH", self.node), encode(nbirth))]
        for name in self.devices:
            out.append(self._dbirth(name, now))
        return out

    def _dbirth(self, name: str, now: int) -> Publish:
        d = self.devices[name]
        d.born = True
        m = d.metrics
        metrics = [
            Metric(PATH_METRIC, m.path_alias, DataType.STRING, m.path, now),
            Metric(ALARMS_METRIC, m.alarms_alias, DataType.STRING, "[]", now, is_transient=True),
        ]
        for tag, mdef in m.tags.items():
            last = d.last.get(tag)
            datatype = d.datatypes.get(tag)
            if datatype is None:
                datatype = DataType.DOUBLE if last is None else datatype_of(last.value)
                d.datatypes[tag] = datatype
            props: dict[str, str | int | float | bool] = {}
            if mdef.unit is not None:
                props[UNIT_PROPERTY] = mdef.unit
            quality = Quality.BAD if last is None else last.quality
            props[QUALITY_PROPERTY] = QUALITY_CODE[quality]
            if last is not None and last.reason is not None:
                props[REASON_PROPERTY] = last.reason
            value = None if last is None else last.value
            ts = now if last is None else last.ts
            metrics.append(Metric(tag, mdef.alias, datatype, value, ts, properties=props))
        payload = Payload(now, metrics, seq=self._next_seq())
        return Publish(
            device_topic(self.group, "DBIRTH", self.node, name),
            encode(payload),
            values=len(m.tags),
        )

    # -- data -----------------------------------------------------------------------------

    def telemetry(self, batch: TelemetryBatch, now: int) -> list[Action]:
        """One poll's readings: DDATA with what changed, or Hold while not online. The value
        path: a good value of a known type becomes its metric in one step."""
        d = self.devices[batch.device]
        aliases = d.aliases
        learnt = d.learnt
        datatypes = d.datatypes
        last = d.last
        good = Quality.GOOD
        online = self.phase is Phase.ONLINE
        changed: list[Reading] = []
        metrics: list[Metric] = []
        rebirth = False
        if online:
            readings = self._block_values(d, batch.blocks, metrics)
            readings.extend(batch.readings)
        else:
            readings = batch.all_readings()
        for r in readings:
            tag = r.tag
            alias = aliases.get(tag)
            if alias is None:
                continue
            value = r.value
            before = last.get(tag)
            last[tag] = _Last(value, r.quality, r.ts, r.reason)
            datatype = datatypes.get(tag)
            if tag in learnt and datatype is not None and not _fits(datatype, value):
                del datatypes[tag]  # learnt from a value: learn it again, in a new birth
                rebirth = True
            if before is not None and before.quality is r.quality:
                if before.value == value and type(before.value) is type(value):
                    continue  # report by exception
                if online and r.quality is good and datatype is not None:
                    kind = type(value)
                    if (kind is float and datatype in _FLOATS) or _fits(datatype, value):
                        metrics.append(Metric(None, alias, datatype, value, r.ts))
                        changed.append(r)
                        continue
            changed.append(r)
            if online:
                requalified = before is not None and before.quality is not r.quality
                metrics.append(
                    self._data_metric(d, tag, value, r.quality, r.ts, r.reason, False, requalified)
                )
        if not online:
            return [Hold(batch.device, [reading_row(r) for r in changed])] if changed else []
        if not d.born or rebirth:
            return [self._dbirth(batch.device, now)]
        if not metrics:
            return []
        return [self._ddata(batch.device, metrics, now)]

    @staticmethod
    def _block_values(
        d: _Device, blocks: list[ReadingBlock], metrics: list[Metric]
    ) -> list[Reading]:
        """The value path of an online node for the good values that drivers read in blocks
        (columns): a known metric that was good and still fits its type becomes its DDATA
        metric (or nothing, unchanged) without a `Reading`; the rest is returned as readings
        for the general path."""
        aliases, datatypes, last, learnt = d.aliases, d.datatypes, d.last, d.learnt
        good = Quality.GOOD
        rest: list[Reading] = []
        for b in blocks:
            ts = b.ts
            odd: set[str] = set()
            for tag, value in zip(b.tags, b.values, strict=True):
                alias = aliases.get(tag)
                if alias is None:
                    continue
                before = last.get(tag)
                datatype = datatypes.get(tag)
                if (
                    before is None
                    or before.quality is not good
                    or datatype is None
                    or tag in learnt
                    or not (
                        (type(value) is float and datatype in _FLOATS) or _fits(datatype, value)
                    )
                ):
                    odd.add(tag)
                    continue
                unchanged = before.value == value and type(before.value) is type(value)
                before.value, before.ts, before.reason = value, ts, None
                if not unchanged:  # report by exception
                    metrics.append(Metric(None, alias, datatype, value, ts))
            if odd:
                rest.extend(b.readings(odd))
        return rest

    def _data_metric(
        self,
        d: _Device,
        tag: str,
        value: Value,
        quality: Quality,
        ts: int,
        reason: str | None,
        historical: bool = False,
        requalified: bool = False,
    ) -> Metric:
        """A DDATA metric: alias only; the quality property with every value that is not
        good, and with a good one whose quality changed."""
        datatype = d.datatypes.get(tag) or datatype_of(value)
        if not _fits(datatype, value):
            value = None
        props: dict[str, str | int | float | bool] = {}
        if quality is not Quality.GOOD or value is None:
            props[QUALITY_PROPERTY] = QUALITY_CODE[quality]
            if reason is not None:
                props[REASON_PROPERTY] = reason
        elif historical or requalified:
            props[QUALITY_PROPERTY] = QUALITY_CODE[quality]
        alias = d.metrics.tags[tag].alias
        return Metric(None, alias, datatype, value, ts, historical, properties=props)

    def _ddata(self, device: str, metrics: list[Metric], now: int) -> Publish:
        payload = Payload(now, metrics, seq=self._next_seq())
        return Publish(
            device_topic(self.group, "DDATA", self.node, device),
            encode(payload),
            values=len(metrics),
        )

    def historical(self, device: str, rows: Sequence[Sequence[object]], now: int) -> list[Action]:
        """Held rows (`reading_row`) replayed: DDATA, every metric flagged `is_historical`."""
        d = self.devices.get(device)
        if d is None or self.phase is not Phase.ONLINE or not rows:
            return []
        metrics = []
        for tag, value, quality, ts, reason in rows:
            if not isinstance(tag, str) or tag not in d.metrics.tags:
                continue
            metrics.append(
                self._data_metric(
                    d,
                    tag,
                    value if isinstance(value, bool | int | float | str) else None,
                    Quality(str(quality)),
                    int(ts),  # type: ignore[call-overload]
                    reason if isinstance(reason, str) else None,
                    historical=True,
                )
            )
        return [self._ddata(device, metrics, now)] if metrics else []

    def conditions(self, device: str, events: list[object], now: int) -> list[Action]:
        """Condition events of a device as the `_alarms/events` metric (JSON text)."""
        d = self.devices.get(device)
        if d is None:
            return []
        text = orjson.dumps(events).decode()
        if self.phase is not Phase.ONLINE:
            return [Hold(device, [[ALARMS_METRIC, text, "good", now, None]])]
        if not d.born:
            return [self._dbirth(device, now), *self.conditions(device, events, now)]
        metric = Metric(None, d.metrics.alarms_alias, DataType.STRING, text, now, is_transient=True)
        return [self._ddata(device, [metric], now)]

    def replay_conditions(self, device: str, text: str, ts: int, now: int) -> list[Action]:
        d = self.devices.get(device)
        if d is None or self.phase is not Phase.ONLINE:
            return []
        metric = Metric(
            None, d.metrics.alarms_alias, DataType.STRING, text, ts, True, is_transient=True
        )
        return [self._ddata(device, [metric], now)]

    def device_down(self, device: str, now: int) -> list[Action]:
        """The device's connection was lost: DDEATH (a DBIRTH comes with its next data)."""
        d = self.devices.get(device)
        if d is None or not d.born or self.phase is not Phase.ONLINE:
            return []
        d.born = False
        payload = Payload(now, [], seq=self._next_seq())
        return [Publish(device_topic(self.group, "DDEATH", self.node, device), encode(payload))]

    # -- commands -------------------------------------------------------------------------

    def command(self, topic: str, payload: bytes, now: int) -> list[Action]:
        """NCMD (rebirth) or DCMD (writes) addressed to this node."""
        try:
            where = parse(topic)
            body = decode(payload)
        except ValueError:
            return []
        if where.group != self.group or where.node != self.node:
            return []
        if where.type == "NCMD":
            for m in body.metrics:
                named = m.name == REBIRTH or m.alias == REBIRTH_ALIAS
                if named and m.value is True and self.phase is Phase.ONLINE:
                    return self._births(now)
            return []
        if where.type != "DCMD" or where.device is None:
            return []
        if where.device not in self.devices:
            return [Refused(where.device, f"no device {where.device!r} on this edge node")]
        aliases = self._aliases[where.device]
        out: list[Action] = []
        for m in body.metrics:
            tag = m.name if m.name is not None else aliases.get(m.alias or -1)
            if tag is None or tag not in self.devices[where.device].metrics.tags:
                out.append(Refused(where.device, f"no metric {m.name or m.alias!r}"))
                continue
            out.append(WriteCommand(where.device, tag, m.value))
        return out
