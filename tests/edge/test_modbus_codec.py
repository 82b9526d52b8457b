"""Register decoding/encoding, pure: every type, byte/word order, bits, strings, scaling."""

import math
import random
import struct

import pytest

from edge.drivers.modbus.codec import (
    ORDERS_BY_WIDTH,
    CodecError,
    Layout,
    all_orders,
    decode,
    encode,
    exception_name,
    make_decoder,
    order_problem,
)

# big-endian bytes of a known value, and how each order lays them on the wire (by hand)
FLOAT_BE = struct.pack(">f", 123.456)  # A B C D
WIRE_32 = {
    "ABCD": FLOAT_BE,
    "BADC": bytes([FLOAT_BE[1], FLOAT_BE[0], FLOAT_BE[3], FLOAT_BE[2]]),
    "CDAB": FLOAT_BE[2:] + FLOAT_BE[:2],
    "DCBA": FLOAT_BE[::-1],
}
DOUBLE_BE = struct.pack(">d", -98765.4321)
WIRE_64 = {
    "ABCDEFGH": DOUBLE_BE,
    "BADCFEHG": b"".join(DOUBLE_BE[i : i + 2][::-1] for i in range(0, 8, 2)),
    "GHEFCDAB": b"".join(DOUBLE_BE[i : i + 2] for i in (6, 4, 2, 0)),
    "HGFEDCBA": DOUBLE_BE[::-1],
}


def regs(data: bytes) -> list[int]:
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


@pytest.mark.parametrize("order", WIRE_32)
def test_float32_every_order(order: str) -> None:
    value = decode(Layout("float32", order), regs(WIRE_32[order]))
    assert value == pytest.approx(123.456, rel=1e-6)
    assert encode(Layout("float32", order), 123.456) == regs(WIRE_32[order])


@pytest.mark.parametrize("order", WIRE_64)
def test_float64_every_order(order: str) -> None:
    assert decode(Layout("float64", order), regs(WIRE_64[order])) == -98765.4321
    assert encode(Layout("float64", order), -98765.4321) == regs(WIRE_64[order])


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        ("int16", -2),
        ("uint16", 65535),
        ("int32", -123456789),
        ("uint32", 4_000_000_000),
        ("int64", -(2**62) - 5),
        ("uint64", 2**64 - 1),
    ],
)
def test_integers_round_trip_in_every_order(type_: str, value: int) -> None:
    width = Layout(type_).width
    for order in ORDERS_BY_WIDTH[width]:
        layout = Layout(type_, order)
        registers = encode(layout, value)
        assert len(registers) == layout.registers
        assert decode(layout, registers) == value


def test_int32_cdab_is_word_swap() -> None:
    assert decode(Layout("int32", "CDAB"), [0x5678, 0x1234]) == 0x12345678
    assert decode(Layout("uint16", "BA"), [0x3412]) == 0x1234


def test_bit_in_register_and_bool() -> None:
    assert decode(Layout("bit", bit=0), [0b101]) is True
    assert decode(Layout("bit", bit=1), [0b101]) is False
    assert decode(Layout("bit", bit=15), [0x8000]) is True
    assert decode(Layout("bool"), [0]) is False
    assert encode(Layout("bool"), True) == [1]


def test_strings_pad_and_swap() -> None:
    layout = Layout("string", length=4)
    assert encode(layout, "AB-1") == [0x4142, 0x2D31, 0, 0]
    assert decode(layout, [0x4142, 0x2D31, 0, 0]) == "AB-1"
    swapped = Layout("string", "BA", length=2)
    assert decode(swapped, [0x4241, 0x0043]) == "ABC"
    assert encode(swapped, "ABC") == [0x4241, 0x0043]
    with pytest.raises(CodecError, match="longer than 8 bytes"):
        encode(layout, "ABCDEFGHI")


def test_scale_and_offset_both_ways() -> None:
    layout = Layout("int16", scale=0.1, offset=-40.0)
    assert decode(layout, [650]) == pytest.approx(25.0)
    assert encode(layout, 25.0) == [650]
    assert decode(Layout("uint16"), [7]) == 7
    assert isinstance(decode(Layout("uint16"), [7]), int)


def test_bad_values_are_clear_errors() -> None:
    with pytest.raises(CodecError, match="does not fit int16"):
        encode(Layout("int16"), 40000)
    with pytest.raises(CodecError, match="needs a number"):
        encode(Layout("float32"), "hot")
    with pytest.raises(CodecError, match="not a finite number"):
        encode(Layout("float32"), math.inf)
    with pytest.raises(CodecError, match="needs 2 registers, got 1"):
        decode(Layout("float32"), [1])
    with pytest.raises(CodecError, match="cannot be written"):
        encode(Layout("bit", bit=3), True)


def test_order_problems_name_the_allowed_orders() -> None:
    assert order_problem("float32", "ABCD") is None
    problem = order_problem("float32", "ABCDEFGH")
    assert problem
    assert "ABCD, BADC, CDAB, DCBA" in problem
    assert order_problem("bool", "AB") == "type bool has no byte order"


def test_all_orders_for_the_probe() -> None:
    table = all_orders([*regs(WIRE_32["CDAB"]), 0, 0])
    assert table["float32"]["CDAB"] == pytest.approx(123.456, rel=1e-6)
    assert table["float32"]["ABCD"] != pytest.approx(123.456, rel=1e-6)
    assert set(table["float64"]) == set(ORDERS_BY_WIDTH[8])


def test_exception_names() -> None:
    assert exception_name(2) == "illegal_data_address"
    assert exception_name(99) == "exception_99"


@pytest.mark.parametrize(
    "layout",
    [
        Layout("uint16"),
        Layout("int16"),
        Layout("int16", "BA"),
        Layout("int16", scale=0.1, offset=-5),
        Layout("uint32"),
        Layout("float32", "CDAB", scale=2.0),
        Layout("int64", "GHEFCDAB"),
        Layout("float64"),
        Layout("bit", bit=4),
        Layout("string", length=3),
    ],
)
def test_compiled_decoders_match_decode(layout: Layout) -> None:
    block = [0x0000, 0xFFFE, 0x8001, 0x4142, 0x1234, 0x5678, 0x9ABC, 0x0010]
    fast = make_decoder(layout)
    for i in range(len(block) - layout.registers + 1):
        want, got = decode(layout, block[i : i + layout.registers]), fast(block, i)
        if isinstance(want, float) and math.isnan(want):
            assert isinstance(got, float)
            assert math.isnan(got)
        else:
            assert got == want, i


INT_RANGES = {
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}


def test_random_integers_round_trip_in_every_order() -> None:
    rng = random.Random(20261125)
    for type_, (lo, hi) in INT_RANGES.items():
        samples = [lo, hi, 0 if lo <= 0 else lo, *(rng.randint(lo, hi) for _ in range(50))]
        for order in ORDERS_BY_WIDTH[Layout(type_).width]:
            layout = Layout(type_, order)
            for value in samples:
                registers = encode(layout, value)
                assert all(0 <= r <= 0xFFFF for r in registers)
                assert decode(layout, registers) == value
                assert make_decoder(layout)(registers, 0) == value


def test_random_doubles_round_trip_in_every_order() -> None:
    rng = random.Random(7)
    values = [
        0.0,
        -0.0,
        5e-324,
        1.7976931348623157e308,
        *(rng.uniform(-1e12, 1e12) for _ in range(50)),
    ]
    for order in ORDERS_BY_WIDTH[8]:
        layout = Layout("float64", order)
        for value in values:
            assert decode(layout, encode(layout, value)) == value
