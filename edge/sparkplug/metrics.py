"""The tags of the agent's devices as Sparkplug metrics: names, aliases and data types. No I/O.

Aliases are unique within the edge node: 1 is `Node Control/Rebirth`, then every device's
metrics in plant-file order. Each device also has two metrics of ours: `_uns/path` (its place
in the plant hierarchy, so a host can map it to the UNS) and `_alarms/events` (its condition
events, see docs/northbound.md).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from edge.drivers.base import DeviceConfig, TagConfig
from uns.sparkplug.types import DataType

REBIRTH = "Node Control/Rebirth"
BDSEQ = "bdSeq"
PATH_METRIC = "_uns/path"
ALARMS_METRIC = "_alarms/events"
REBIRTH_ALIAS = 1

#: a Modbus tag's configured type -> its Sparkplug data type (unscaled values)
_MODBUS_TYPES: Mapping[str, DataType] = {
    "bool": DataType.BOOLEAN,
    "bit": DataType.BOOLEAN,
    "int16": DataType.INT16,
    "uint16": DataType.UINT16,
    "int32": DataType.INT32,
    "uint32": DataType.UINT32,
    "int64": DataType.INT64,
    "uint64": DataType.UINT64,
    "float32": DataType.FLOAT,
    "float64": DataType.DOUBLE,
    "string": DataType.STRING,
}
_NOT_SCALED = frozenset((DataType.BOOLEAN, DataType.STRING))


@dataclass(frozen=True, slots=True)
class MetricDef:
    """One metric of a device. `datatype` None: the tag has no configured type (OPC UA); it is
    taken from its first value."""

    name: str
    alias: int
    datatype: DataType | None
    unit: str | None = None


def tag_datatype(tag: TagConfig) -> DataType | None:
    """From the tag's configured `type`: a scaled number is a Double; no type: unknown."""
    configured = getattr(tag, "type", None)
    if not isinstance(configured, str) or configured not in _MODBUS_TYPES:
        return None
    datatype = _MODBUS_TYPES[configured]
    if datatype not in _NOT_SCALED and (tag.scale != 1.0 or tag.offset != 0.0):
        return DataType.DOUBLE
    return datatype


@dataclass(frozen=True, slots=True)
class DeviceMetrics:
    device: str
    path: str
    tags: Mapping[str, MetricDef]
    path_alias: int
    alarms_alias: int

    def by_alias(self) -> dict[int, str]:
        return {m.alias: m.name for m in self.tags.values()}


def alias_table(devices: Sequence[DeviceConfig]) -> list[DeviceMetrics]:
    """Every device's metrics, with node-unique aliases in plant-file order."""
    out: list[DeviceMetrics] = []
    alias = REBIRTH_ALIAS
    for dev in devices:
        tags: dict[str, MetricDef] = {}
        for tag in dev.tags:
            alias += 1
            tags[tag.name] = MetricDef(tag.name, alias, tag_datatype(tag), tag.unit)
        out.append(DeviceMetrics(dev.name, dev.path, tags, alias + 1, alias + 2))
        alias += 2
    return out
