"""The block decoder (one precompiled struct per read) gives exactly what per-tag decoding
gives, and steps aside for tags it cannot decode in one go."""

import math
import random
import struct

from edge.drivers.modbus.codec import Layout, block_unpacker, decode
from edge.drivers.modbus.config import ModbusLimits, ModbusTag
from edge.drivers.modbus.driver import compile_read, decode_block
from edge.drivers.modbus.planner import plan_reads
from edge.model import Quality, Reading

PLAIN = ["int16", "uint16", "int32", "uint32", "float32", "int64", "uint64", "float64"]
SIZES = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2}


def random_tags(rng: random.Random, n: int) -> list[ModbusTag]:
    tags, address = [], 0
    for i in range(n):
        type_ = rng.choice(PLAIN)
        scale = rng.choice([1.0, 1.0, 0.1, 2.5])
        offset = rng.choice([0.0, 0.0, -40.0])
        tags.append(
            ModbusTag(name=f"t{i}", address=address, type=type_, scale=scale, offset=offset)
        )
        address += SIZES.get(type_, 4) + rng.choice([0, 0, 0, 1, 3])
    return tags


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return a == b and type(a) is type(b)


def test_block_decoding_matches_per_tag_decoding() -> None:
    rng = random.Random(11)
    for _ in range(40):
        tags = random_tags(rng, rng.randint(1, 60))
        registers = [rng.randrange(0x10000) for _ in range(tags[-1].address + 4)]
        for req in plan_reads(tags, ModbusLimits(max_gap=rng.choice([0, 4]))):
            read = compile_read(req)
            assert read.unpack is not None  # plain numbers only: one struct per block
            block = registers[req.address : req.address + req.count]
            out: list[Reading] = []
            decode_block(read, block, 7, out)
            assert [r.tag for r in out] == [p.tag.name for p in req.tags]
            for r, p in zip(out, req.tags, strict=True):
                expected = decode(p.tag.layout, block[p.index : p.index + p.tag.size])
                if isinstance(expected, float) and not math.isfinite(expected):
                    assert r.quality is Quality.BAD
                    assert r.reason == "not_finite"
                    continue
                assert same(r.value, expected), (p.tag, r.value, expected)
                assert (r.quality, r.ts, r.acquired_ms) == (Quality.GOOD, 7, 7)


def test_other_orders_overlaps_and_strings_use_per_tag_decoders() -> None:
    f32 = Layout("float32")
    assert block_unpacker([(f32, 0), (Layout("float32", "CDAB"), 2)], 4) is None
    assert block_unpacker([(f32, 0), (Layout("uint16"), 1)], 4) is None  # overlaps
    assert block_unpacker([(f32, 0), (Layout("string", length=2), 2)], 4) is None
    assert block_unpacker([(Layout("bit", bit=3), 0)], 1) is None
    assert block_unpacker([(f32, 0)], 1) is None  # does not fit the block
    unpack = block_unpacker([(f32, 0), (Layout("int16"), 3)], 4)
    assert unpack is not None
    assert unpack.unpack(struct.pack(">fhh", 1.5, 9, -2)) == (1.5, -2)


def test_a_short_block_falls_back_to_per_tag_errors() -> None:
    tags = [ModbusTag(name="a", address=0, type="float32")]
    read = compile_read(plan_reads(tags, ModbusLimits())[0])
    out: list[Reading] = []
    decode_block(read, [0x3FC0], 1, out)
    assert out[0].quality is Quality.BAD
    assert out[0].reason is not None
    assert out[0].reason.startswith("decode_error")
