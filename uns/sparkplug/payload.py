"""Sparkplug B payloads as plain data, and their protobuf encoding (the generated
`sparkplug_b_pb2`, from the specification's schema). The one place that touches protobuf."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError

from uns.sparkplug import sparkplug_b_pb2 as pb
from uns.sparkplug.types import DataType, from_wire, to_wire, value_field

MetricValue = float | int | bool | str | None
PropertyValue = str | int | float | bool


class BadPayload(ValueError):
    """Bytes that are not a Sparkplug B payload we can read; the message says why."""


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric. A birth names it (`name`, `datatype`, `alias`, `properties`); data after
    the birth may carry only the alias. `value` None is an explicit null (`is_null`)."""

    name: str | None
    alias: int | None
    datatype: DataType
    value: MetricValue
    timestamp: int | None = None
    is_historical: bool = False
    is_transient: bool = False
    properties: Mapping[str, PropertyValue] = field(default_factory=dict)


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
    for m in payload.metrics:
        pm = out.metrics.add()
        if m.name is not None:
            pm.name = m.name
        if m.alias is not None:
            pm.alias = m.alias
        if m.timestamp is not None:
            pm.timestamp = m.timestamp
        pm.datatype = m.datatype
        if m.is_historical:
            pm.is_historical = True
        if m.is_transient:
            pm.is_transient = True
        if m.value is None:
            pm.is_null = True
        else:
            setattr(pm, value_field(m.datatype), to_wire(m.datatype, m.value))
        if m.properties:
            for key, value in m.properties.items():
                pm.properties.keys.append(key)
                _property(pm.properties.values.add(), value)
    return out.SerializeToString()


def _property_value(pv: pb.Payload.PropertyValue) -> PropertyValue | None:
    kind = pv.WhichOneof("value")
    if kind is None or pv.is_null:
        return None
    raw = getattr(pv, kind)
    if isinstance(raw, float | int | bool | str):
        return from_wire(DataType(pv.type), raw) if pv.type in DataType._value2member_map_ else raw
    return None  # nested property sets: not used by this product


def decode(data: bytes) -> Payload:
    msg = pb.Payload()
    try:
        msg.ParseFromString(data)
    except DecodeError as exc:
        raise BadPayload(f"not a Sparkplug B payload: {exc}") from None
    metrics: list[Metric] = []
    for i, pm in enumerate(msg.metrics):
        try:
            datatype = DataType(pm.datatype)
        except ValueError:
            raise BadPayload(f"metrics[{i}]: unsupported data type {pm.datatype}") from None
        kind = pm.WhichOneof("value")
        value: MetricValue = None
        if kind is not None and not pm.is_null:
            raw = getattr(pm, kind)
            if not isinstance(raw, float | int | bool | str):
                raise BadPayload(f"metrics[{i}]: {kind} values are not supported")
            value = from_wire(datatype, raw)
        props: dict[str, PropertyValue] = {}
        for key, pv in zip(pm.properties.keys, pm.properties.values, strict=False):
            prop = _property_value(pv)
            if prop is not None:
                props[key] = prop
        metrics.append(
            Metric(
                name=pm.name if pm.HasField("name") else None,
                alias=pm.alias if pm.HasField("alias") else None,
                datatype=datatype,
                value=value,
                timestamp=pm.timestamp if pm.HasField("timestamp") else None,
                is_historical=pm.is_historical,
                is_transient=pm.is_transient,
                properties=props,
            )
        )
    return Payload(
        timestamp=msg.timestamp, metrics=metrics, seq=msg.seq if msg.HasField("seq") else None
    )
