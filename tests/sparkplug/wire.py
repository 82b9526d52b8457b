"""An independent reading and writing of Sparkplug B payloads for the interop tests: the
protobuf wire format by hand (varints, length-delimited fields), written from the field numbers
of the specification's schema, sharing nothing with the product's generated module."""

import struct
from dataclasses import dataclass, field
from typing import Any


def _varint(data: bytes, i: int) -> tuple[int, int]:
    shift = out = 0
    while True:
        b = data[i]
        i += 1
        out |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return out, i


def fields(data: bytes) -> list[tuple[int, Any]]:
    """(field number, raw value) of one message: ints, bytes, or ('f32'|'f64', float)."""
    out: list[tuple[int, Any]] = []
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 1:
            value, i = ("f64", struct.unpack("<d", data[i : i + 8])[0]), i + 8
        elif wire == 5:
            value, i = ("f32", struct.unpack("<f", data[i : i + 4])[0]), i + 4
        elif wire == 2:
            n, i = _varint(data, i)
            value, i = data[i : i + n], i + n
        else:
            raise ValueError(f"wire type {wire}")
        out.append((number, value))
    return out


@dataclass
class WireMetric:
    name: str | None = None
    alias: int | None = None
    timestamp: int | None = None
    datatype: int | None = None
    historical: bool = False
    transient: bool = False
    null: bool = False
    value: Any = None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class WirePayload:
    timestamp: int | None = None
    seq: int | None = None
    metrics: list[WireMetric] = field(default_factory=list)

    def by_name(self) -> dict[str, WireMetric]:
        return {m.name: m for m in self.metrics if m.name is not None}


def _signed(datatype: int | None, raw: int) -> int:
    if datatype in (1, 2, 3) and raw >= 1 << 31:
        return raw - (1 << 32)
    if datatype == 4 and raw >= 1 << 63:
        return raw - (1 << 64)
    return raw


def _properties(data: bytes) -> dict[str, Any]:
    keys: list[str] = []
    values: list[Any] = []
    for number, raw in fields(data):
        if number == 1:
            keys.append(raw.decode())
        elif number == 2:
            value: Any = None
            kind = None
            for n, r in fields(raw):
                if n == 1:
                    kind = r
                elif n in (3, 4):
                    value = _signed(kind, r)
                elif n in (5, 6):
                    value = r[1]
                elif n == 7:
                    value = bool(r)
                elif n == 8:
                    value = r.decode()
            values.append(value)
    return dict(zip(keys, values, strict=True))


def read(data: bytes) -> WirePayload:
    p = WirePayload()
    for number, raw in fields(data):
        if number == 1:
            p.timestamp = raw
        elif number == 3:
            p.seq = raw
        elif number == 2:
            m = WireMetric()
            for n, r in fields(raw):
                if n == 1:
                    m.name = r.decode()
                elif n == 2:
                    m.alias = r
                elif n == 3:
                    m.timestamp = r
                elif n == 4:
                    m.datatype = r
                elif n == 5:
                    m.historical = bool(r)
                elif n == 6:
                    m.transient = bool(r)
                elif n == 7:
                    m.null = bool(r)
                elif n == 9:
                    m.properties = _properties(r)
                elif n in (10, 11):
                    m.value = _signed(m.datatype, r)
                elif n in (12, 13):
                    m.value = r[1]
                elif n == 14:
                    m.value = bool(r)
                elif n == 15:
                    m.value = r.decode()
            p.metrics.append(m)
    return p


def _put_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, wire: int, body: bytes) -> bytes:
    return _put_varint(number << 3 | wire) + body


def _ld(number: int, body: bytes) -> bytes:
    return _field(number, 2, _put_varint(len(body)) + body)


def command(ts: int, metrics: list[tuple[str | None, int | None, int, Any]]) -> bytes:
    """An NCMD/DCMD payload: metrics as (name, alias, datatype, value); Boolean, Int64 (as
    long_value), Double and String values."""
    out = _field(1, 0, _put_varint(ts))
    for name, alias, datatype, value in metrics:
        body = b""
        if name is not None:
            body += _ld(1, name.encode())
        if alias is not None:
            body += _field(2, 0, _put_varint(alias))
        body += _field(3, 0, _put_varint(ts)) + _field(4, 0, _put_varint(datatype))
        if datatype == 11:
            body += _field(14, 0, _put_varint(int(bool(value))))
        elif datatype in (3, 7):
            body += _field(10, 0, _put_varint(int(value) & 0xFFFFFFFF))
        elif datatype in (4, 8):
            body += _field(11, 0, _put_varint(int(value) & 0xFFFFFFFFFFFFFFFF))
        elif datatype == 10:
            body += _field(13, 1, struct.pack("<d", float(value)))
        else:
            body += _ld(15, str(value).encode())
        out += _ld(2, body)
    return out
