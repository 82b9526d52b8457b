"""Register decoding and encoding: pure functions, no I/O.

Byte orders are named by where the big-endian bytes A, B, C, ... of the value land on the wire:
`ABCD` is big-endian, `CDAB` swaps the two 16-bit words, `BADC` swaps the bytes inside each word,
`DCBA` is fully little-endian. 64-bit values use the eight-letter names (`ABCDEFGH` ...).
"""

import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from edge.model import Value

#: register count and struct format of each numeric type
NUMERIC_TYPES: dict[str, tuple[int, str]] = {
    "int16": (1, "h"),
    "uint16": (1, "H"),
    "int32": (2, "i"),
    "uint32": (2, "I"),
    "float32": (2, "f"),
    "int64": (4, "q"),
    "uint64": (4, "Q"),
    "float64": (4, "d"),
}

#: the byte orders that fit each width in bytes (the first one is the default)
ORDERS_BY_WIDTH: dict[int, tuple[str, ...]] = {
    2: ("AB", "BA"),
    4: ("ABCD", "BADC", "CDAB", "DCBA"),
    8: ("ABCDEFGH", "BADCFEHG", "GHEFCDAB", "HGFEDCBA"),
}

#: Modbus exception codes and their names (Modbus application protocol, section 7)
EXCEPTION_NAMES: dict[int, str] = {
    1: "illegal_function",
    2: "illegal_data_address",
    3: "illegal_data_value",
    4: "server_device_failure",
    5: "acknowledge",
    6: "server_device_busy",
    8: "memory_parity_error",
    10: "gateway_path_unavailable",
    11: "gateway_target_failed_to_respond",
}
ILLEGAL_DATA_ADDRESS = 2


class CodecError(ValueError):
    """Registers or a value that cannot be converted; the message says which and why."""


def exception_name(code: int) -> str:
    return EXCEPTION_NAMES.get(code, f"exception_{code}")


@dataclass(frozen=True, slots=True)
class Layout:
    """How one tag's value sits in registers (everything the codec needs, nothing else)."""

    type: str
    order: str | None = None
    bit: int | None = None
    length: int | None = None
    scale: float = 1.0
    offset: float = 0.0

    @property
    def registers(self) -> int:
        """How many registers the value spans (bool/bit/uint16-like types take one)."""
        if self.type == "string":
            return self.length or 1
        if self.type in NUMERIC_TYPES:
            return NUMERIC_TYPES[self.type][0]
        return 1

    @property
    def width(self) -> int:
        return 2 * self.registers


def order_problem(type_: str, order: str | None, length: int | None = None) -> str | None:
    """Why `order` does not fit `type_`, or None if it does."""
    if order is None:
        return None
    if type_ in ("bool", "bit"):
        return f"type {type_} has no byte order"
    width = 2 if type_ == "string" else 2 * NUMERIC_TYPES[type_][0]
    allowed = ORDERS_BY_WIDTH[width]
    if order not in allowed:
        what = "string (per register)" if type_ == "string" else type_
        return f"order {order} does not fit {what}: use one of {', '.join(allowed)}"
    return None


def _permutation(order: str) -> list[int]:
    """wire position i holds big-endian byte number perm[i]."""
    return [ord(c) - ord("A") for c in order]


def registers_to_bytes(registers: Sequence[int]) -> bytes:
    return b"".join(r.to_bytes(2, "big") for r in registers)


def bytes_to_registers(data: bytes) -> list[int]:
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def to_big_endian(wire: bytes, order: str | None) -> bytes:
    """Reorder wire bytes into big-endian (ABCD...) order."""
    if order is None or order == "ABCDEFGH"[: len(order)]:
        return wire
    if len(order) == 2:  # per-register swap, applied to every register (strings)
        return b"".join(bytes((wire[i + 1], wire[i])) for i in range(0, len(wire), 2))
    out = bytearray(len(wire))
    for pos, src in enumerate(_permutation(order)):
        out[src] = wire[pos]
    return bytes(out)


def from_big_endian(data: bytes, order: str | None) -> bytes:
    """Reorder big-endian bytes into the wire order named by `order`."""
    if order is None or order == "ABCDEFGH"[: len(order)]:
        return data
    if len(order) == 2:
        return to_big_endian(data, order)  # a byte swap is its own inverse
    return bytes(data[src] for src in _permutation(order))


def decode_raw(layout: Layout, registers: Sequence[int]) -> Value:
    """The device's value before scaling, from exactly `layout.registers` registers."""
    if len(registers) != layout.registers:
        raise CodecError(f"{layout.type} needs {layout.registers} registers, got {len(registers)}")
    if layout.type == "bool":
        return registers[0] != 0
    if layout.type == "bit":
        return bool((registers[0] >> (layout.bit or 0)) & 1)
    wire = registers_to_bytes(registers)
    data = to_big_endian(wire, layout.order)
    if layout.type == "string":
        return data.split(b"\x00", 1)[0].decode("latin-1").rstrip(" ")
    _, fmt = NUMERIC_TYPES[layout.type]
    value: int | float = struct.unpack(">" + fmt, data)[0]
    return value


def scale_value(layout: Layout, raw: Value) -> Value:
    """Engineering value: raw * scale + offset (integers stay integers when unscaled)."""
    if layout.scale == 1.0 and layout.offset == 0.0:
        return raw
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return raw
    return raw * layout.scale + layout.offset


def decode(layout: Layout, registers: Sequence[int]) -> Value:
    return scale_value(layout, decode_raw(layout, registers))


def unscale_value(layout: Layout, value: Value) -> Value:
    """The raw device value for an engineering value (the inverse of `scale_value`)."""
    if layout.type in ("bool", "bit", "string"):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CodecError(f"{layout.type} needs a number, got {value!r}")
    if layout.scale == 1.0 and layout.offset == 0.0:
        return value
    if layout.scale == 0:
        raise CodecError("scale 0 cannot be inverted")
    return (value - layout.offset) / layout.scale


def encode(layout: Layout, value: Value) -> list[int]:
    """Registers that hold `value` (an engineering value) for this layout."""
    raw = unscale_value(layout, value)
    if layout.type == "bool":
        if not isinstance(raw, bool):
            raise CodecError(f"bool needs true or false, got {raw!r}")
        return [1 if raw else 0]
    if layout.type == "bit":
        raise CodecError("a single bit inside a register cannot be written on its own")
    if layout.type == "string":
        if not isinstance(raw, str):
            raise CodecError(f"string needs text, got {raw!r}")
        try:
            data = raw.encode("latin-1")
        except UnicodeEncodeError:
            raise CodecError(f"{raw!r} is not latin-1 text") from None
        if len(data) > layout.width:
            raise CodecError(f"{raw!r} is longer than {layout.width} bytes")
        return bytes_to_registers(from_big_endian(data.ljust(layout.width, b"\x00"), layout.order))
    _, fmt = NUMERIC_TYPES[layout.type]
    assert isinstance(raw, int | float)  # unscale_value checked it
    if fmt in "fd":
        number: int | float = float(raw)
        if not math.isfinite(number):
            raise CodecError(f"{raw!r} is not a finite number")
    else:
        if isinstance(raw, float) and not math.isfinite(raw):
            raise CodecError(f"{raw!r} is not a finite number")
        number = round(raw)
    try:
        data = struct.pack(">" + fmt, number)
    except (struct.error, OverflowError):
        raise CodecError(f"{value!r} does not fit {layout.type}") from None
    return bytes_to_registers(from_big_endian(data, layout.order))


def decode_bits(bits: Sequence[bool], index: int) -> bool:
    return bool(bits[index])


def all_orders(registers: Sequence[int]) -> dict[str, dict[str, Value]]:
    """Every numeric type in every byte order that fits the first registers (for the probe)."""
    out: dict[str, dict[str, Value]] = {}
    for type_, (count, _) in NUMERIC_TYPES.items():
        if len(registers) < count:
            continue
        row: dict[str, Value] = {}
        for order in ORDERS_BY_WIDTH[2 * count]:
            row[order] = decode_raw(Layout(type_, order), registers[:count])
        out[type_] = row
    return out


#: decodes the value that starts at `index` of a register block
Decoder = Callable[[Sequence[int], int], Value]


def make_decoder(layout: Layout) -> Decoder:
    """A decoder compiled once per tag: the hot path of polling. Same results as `decode`."""
    t, order, n = layout.type, layout.order, layout.registers
    plain = is_plain(order)
    base: Decoder
    if t == "uint16" and plain:
        base = _uint16
    elif t == "int16" and plain:
        base = _int16
    elif t in NUMERIC_TYPES and plain:
        unpack = struct.Struct(">" + NUMERIC_TYPES[t][1]).unpack

        def base(regs: Sequence[int], i: int) -> Value:
            return unpack(b"".join(r.to_bytes(2, "big") for r in regs[i : i + n]))[0]  # type: ignore[no-any-return]
    else:

        def base(regs: Sequence[int], i: int) -> Value:
            return decode_raw(layout, regs[i : i + n])

    if layout.scale == 1.0 and layout.offset == 0.0:
        return base
    scale, offset = layout.scale, layout.offset

    def scaled(regs: Sequence[int], i: int) -> Value:
        raw = base(regs, i)
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            return raw
        return raw * scale + offset

    return scaled


def is_plain(order: str | None) -> bool:
    """Whether the byte order is the big-endian one (ABCD...), the wire order Modbus defines."""
    return order is None or order == "ABCDEFGH"[: len(order)]


def block_unpacker(items: Sequence[tuple[Layout, int]], count: int) -> struct.Struct | None:
    """One precompiled struct that decodes every value of a `count`-register block at once
    (unscaled), from the block as big-endian bytes, in the order of `items` (layout, index).

    It applies when every value is a number in the plain byte order and the values do not
    overlap (the common case: a run of float32 tags): one C call instead of one Python call per
    tag. None when some value needs its own decoder (another order, bits, strings, overlaps).
    """
    parts = [">"]
    pos = 0
    for layout, index in items:
        spec = NUMERIC_TYPES.get(layout.type)
        if spec is None or not is_plain(layout.order) or index < pos:
            return None
        if index > pos:
            parts.append(f"{2 * (index - pos)}x")
        parts.append(spec[1])
        pos = index + spec[0]
    if pos > count:
        return None
    return struct.Struct("".join(parts))


def block_bytes(registers: Sequence[int]) -> bytes:
    """A register block as big-endian bytes (the wire form), in one C call."""
    return struct.pack(f">{len(registers)}H", *registers)


def _uint16(regs: Sequence[int], i: int) -> Value:
    return regs[i]


def _int16(regs: Sequence[int], i: int) -> Value:
    v = regs[i]
    return v - 0x10000 if v & 0x8000 else v
