"""Sparkplug B data types (Metric.datatype codes) and how a value travels in each. No I/O."""

from enum import IntEnum
from typing import Literal

ValueField = Literal[
    "int_value", "long_value", "float_value", "double_value", "boolean_value", "string_value"
]


class DataType(IntEnum):
    """The codes of the specification's data types (the scalar ones this product uses)."""

    UNKNOWN = 0
    INT8 = 1
    INT16 = 2
    INT32 = 3
    INT64 = 4
    UINT8 = 5
    UINT16 = 6
    UINT32 = 7
    UINT64 = 8
    FLOAT = 9
    DOUBLE = 10
    BOOLEAN = 11
    STRING = 12
    DATETIME = 13
    TEXT = 14


_FIELD: dict[DataType, ValueField] = {
    DataType.INT8: "int_value",
    DataType.INT16: "int_value",
    DataType.INT32: "int_value",
    DataType.UINT8: "int_value",
    DataType.UINT16: "int_value",
    DataType.UINT32: "int_value",
    DataType.INT64: "long_value",
    DataType.UINT64: "long_value",
    DataType.DATETIME: "long_value",
    DataType.FLOAT: "float_value",
    DataType.DOUBLE: "double_value",
    DataType.BOOLEAN: "boolean_value",
    DataType.STRING: "string_value",
    DataType.TEXT: "string_value",
}
#: signed integer types and their width in bits: negative values travel as two's complement
SIGNED_BITS = {DataType.INT8: 8, DataType.INT16: 16, DataType.INT32: 32, DataType.INT64: 64}
INTEGERS = frozenset(_FIELD) - {
    DataType.FLOAT,
    DataType.DOUBLE,
    DataType.BOOLEAN,
    DataType.STRING,
    DataType.TEXT,
}


def value_field(datatype: DataType) -> ValueField:
    """The `oneof value` member a metric of `datatype` carries its value in."""
    try:
        return _FIELD[datatype]
    except KeyError:
        raise ValueError(f"data type {datatype!r} is not supported") from None


def to_wire(datatype: DataType, value: float | int | bool | str) -> float | int | bool | str:
    """`value` as stored in its field: signed integers as unsigned two's complement."""
    if datatype in INTEGERS:
        number = int(value)
        bits = SIGNED_BITS.get(datatype)
        if bits is not None and number < 0:
            number += 1 << (32 if bits < 64 else 64)
        return number
    if datatype in (DataType.FLOAT, DataType.DOUBLE):
        return float(value)
    if datatype is DataType.BOOLEAN:
        return bool(value)
    return str(value)


def from_wire(datatype: DataType, raw: float | int | bool | str) -> float | int | bool | str:
    """The inverse of `to_wire`."""
    bits = SIGNED_BITS.get(datatype)
    if bits is not None and isinstance(raw, int):
        width = 32 if bits < 64 else 64
        if raw >= 1 << (width - 1):
            return raw - (1 << width)
    return raw


def datatype_of(value: object) -> DataType:
    """The type a value of unknown origin is published with (tags without a configured type)."""
    if isinstance(value, bool):
        return DataType.BOOLEAN
    if isinstance(value, int):
        return DataType.INT64
    if isinstance(value, str):
        return DataType.STRING
    return DataType.DOUBLE
