"""Sparkplug B payloads as plain data, and their protobuf encoding (the generated
`sparkplug_b_pb2`, from the specification's schema). The one place that touches protobuf."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

from google.protobuf.message import DecodeError

from uns.sparkplug import sparkplug_b_pb2 as pb
from uns.sparkplug.types import DataType, from_wire, to_wire, value_field

MetricValue = float | int | bool | str | None
PropertyValue = str | int | float | bool


class BadPayload(ValueError):
    """Bytes that are not a Sparkplug B payload we can read; the message says why."""


#: no properties (shared, never written)
NO_PROPERTIES: Mapping[str, "PropertyValue"] = MappingProxyType({})


class Metric(NamedTuple):
    """One metric. A birth names it (`name`, `datatype`, `alias`, `properties`); data after
    the birth may carry only the alias. `value` None is an explicit null (`is_null`). A named
    tuple: thousands are built per second on the value path."""

    name: str | None
    alias: int | None
    datatype: DataType
    value: MetricValue
    timestamp: int | None = None
    is_historical: bool = False
    is_transient: bool = False
    properties: Mapping[str, PropertyValue] = NO_PROPERTIES


@dataclass(frozen=True, slots=True)
class Payload:
    timestamp: int
    metrics: Sequence[Metric]
    seq: int | None = None


def _property(pv: pb.Payload.PropertyValue, value: PropertyValue) -> None:
    if isinstance(value, bool):
        pv.type, pv.boolean_value = DataType.BOOLEAN, value
    elif isinstance(value, int) and -(2**31) <= value < 2**31:
        pv.type, pv.int_value = DataType.INT32, int(to_wire(DataType.INT32, value))
    elif isinstance(value, int):
        pv.type, pv.long_value = DataType.INT64, int(to_wire(DataType.INT64, value))
    elif isinstance(value, float):
        pv.type, pv.double_value = DataType.DOUBLE, value
    else:
        pv.type, pv.string_value = DataType.STRING, value


def encode(payload: Payload) -> bytes:
    out = pb.Payload()
    out.timestamp = payload.timestamp
    if payload.seq is not None:
        out.seq = payload.seq
    add = out.metrics.add
    for name, alias, datatype, value, timestamp, historical, transient, props in payload.metrics:
        pm = add()
        if name is not None:
            pm.name = name
        if alias is not None:
            pm.alias = alias
        if timestamp is not None:
            pm.timestamp = timestamp
        pm.datatype = datatype
        if historical:
            pm.is_historical = True
        if transient:
            pm.is_transient = True
        if value is None:
            pm.is_null = True
        elif type(value) is float and datatype is DataType.DOUBLE:  # the common cases
            pm.double_value = value
        elif type(value) is float and datatype is DataType.FLOAT:
            pm.float_value = value
        else:
            setattr(pm, value_field(datatype), to_wire(datatype, value))
        if props:
            for key, prop in props.items():
                pm.properties.keys.append(key)
                _property(pm.properties.values.add(), prop)
    return out.SerializeToString()


def _property_value(pv: pb.Payload.PropertyValue) -> PropertyValue | None:
    kind = pv.WhichOneof("value")
    if kind is None or pv.is_null:
        return None
    raw = getattr(pv, kind)
    if isinstance(raw, float | int | bool | str):
        return from_wire(DataType(pv.type), raw) if pv.type in DataType._value2member_map_ else raw
    return None  # nested property sets: not used by this product


_TYPES = {int(t): t for t in DataType}
_PLAIN = frozenset(
    (DataType.FLOAT, DataType.DOUBLE, DataType.BOOLEAN, DataType.STRING, DataType.TEXT)
)
_SCALARS = (float, int, bool, str)


def decode(data: bytes) -> Payload:
    msg = pb.Payload()
    try:
        msg.ParseFromString(data)
    except DecodeError as exc:
        raise BadPayload(f"not a Sparkplug B payload: {exc}") from None
    metrics: list[Metric] = []
    append = metrics.append
    for i, pm in enumerate(msg.metrics):
        datatype = _TYPES.get(pm.datatype)
        if datatype is None:
            raise BadPayload(f"metrics[{i}]: unsupported data type {pm.datatype}")
        kind = pm.WhichOneof("value")
        value: MetricValue = None
        if kind is not None and not pm.is_null:
            raw = getattr(pm, kind)
            if not isinstance(raw, _SCALARS):
                raise BadPayload(f"metrics[{i}]: {kind} values are not supported")
            value = raw if datatype in _PLAIN else from_wire(datatype, raw)
        props = NO_PROPERTIES
        if pm.HasField("properties"):
            found: dict[str, PropertyValue] = {}
            for key, pv in zip(pm.properties.keys, pm.properties.values, strict=False):
                prop = _property_value(pv)
                if prop is not None:
                    found[key] = prop
            props = found
        append(
            Metric(
                pm.name if pm.HasField("name") else None,
                pm.alias if pm.HasField("alias") else None,
                datatype,
                value,
                pm.timestamp if pm.HasField("timestamp") else None,
                pm.is_historical,
                pm.is_transient,
                props,
            )
        )
    return Payload(
        timestamp=msg.timestamp, metrics=metrics, seq=msg.seq if msg.HasField("seq") else None
    )
