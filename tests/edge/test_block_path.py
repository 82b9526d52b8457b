"""The block value path (issue 17 item 5): a read block decoded in one call into columns, the
publishing decisions made per block, and the payloads built from the columns, give exactly
what the per-value path gives."""

import math
import random
import struct
from typing import Any

import orjson

from edge.drivers.modbus.config import ModbusDevice, ModbusLimits, ModbusTag
from edge.drivers.modbus.driver import compile_read, decode_block
from edge.drivers.modbus.planner import plan_reads
from edge.model import Quality, Reading, ReadingBlock, TelemetryBatch
from edge.northbound.encode import tag_payloads, telemetry_payload
from edge.pipeline.device import DevicePipeline
from edge.pipeline.processing import TagProcessor, TagRules, plan_block, process_block

TAGS = tuple(f"t{i}" for i in range(12))


def rules_for(rng: random.Random) -> TagRules:
    return TagRules(
        apply_scale=rng.random() < 0.2,
        scale=rng.choice([1.0, 0.5]),
        offset=rng.choice([0.0, 0.0, 3.0]),
        unit=rng.choice([None, None, "bar"]),
        deadband=rng.choice([None, None, 0.6]),
        deadband_percent=rng.choice([None, None, None, 20.0]),
        max_age_ms=rng.choice([None, None, 300]),
        stale_after_ms=rng.choice([None, 250]),
    )


def seen(r: Reading) -> tuple[Any, ...]:
    return (
        r.tag, r.value, type(r.value), r.quality, r.ts, r.reason, r.unit, r.last_value, r.stale,
    )  # fmt: skip


def test_block_decisions_match_per_value_decisions() -> None:
    """Random polls (repeats, type changes, units), bad readings and ticks in between, fed to
    twin processors: one pair by blocks, one by readings; every step publishes the same."""
    blocks_published = 0
    for seed in range(60):
        rng = random.Random(seed)
        rules = {t: rules_for(rng) for t in TAGS}
        by_block = {t: TagProcessor(t, r, 0) for t, r in rules.items()}
        by_value = {t: TagProcessor(t, r, 0) for t, r in rules.items()}
        units = tuple(rng.choice([None, rules[t].unit]) for t in TAGS)
        now = 0
        for _ in range(80):
            now += rng.choice([10, 50, 100, 400])
            step = rng.random()
            if step < 0.6:
                values = [rng.choice([1.0, 1.5, 2.0, 9.0, 2, True, "RUN"]) for _ in TAGS]
                block = ReadingBlock(TAGS, values, now, units)
                odd: list[Reading] = []
                kept = process_block(plan_block(by_block, block), block, now, odd)
                got = odd + (kept.readings() if kept else [])
                blocks_published += kept is not None
                arrivals = [
                    Reading(t, v, Quality.GOOD, now, now, None, u)
                    for t, v, u in zip(TAGS, values, units, strict=True)
                ]
                want = [r for x in arrivals if (r := by_value[x.tag].process(x, now))]
            elif step < 0.8:
                tag = rng.choice(TAGS)
                r = Reading(tag, None, Quality.BAD, now, now, "comm_timeout")
                got = [x for x in [by_block[tag].process(r, now)] if x]
                want = [x for x in [by_value[tag].process(r, now)] if x]
            else:
                got = [r for p in by_block.values() if (r := p.tick(now))]
                want = [r for p in by_value.values() if (r := p.tick(now))]
            assert sorted(map(seen, got), key=str) == sorted(map(seen, want), key=str), seed
    assert blocks_published > 300  # the columns path decided most of it, not the fallback


def test_a_block_where_every_value_changes_is_published_whole() -> None:
    procs = {t: TagProcessor(t, TagRules(), 0) for t in TAGS}
    first = ReadingBlock(TAGS, [float(i) for i in range(12)], 1, (None,) * 12)
    plan = plan_block(procs, first)
    odd: list[Reading] = []
    assert process_block(plan, first, 1, odd) is None  # the first values: one by one
    assert [r.tag for r in odd] == list(TAGS)
    second = ReadingBlock(TAGS, [float(i) + 0.5 for i in range(12)], 2, (None,) * 12)
    odd.clear()
    kept = process_block(plan, second, 2, odd)
    assert kept is not None
    assert not odd
    assert kept.tags is TAGS  # no copy when nothing was filtered
    third = ReadingBlock(TAGS, [*second.values[:3], 99.0, *second.values[4:]], 3, (None,) * 12)
    kept = process_block(plan, third, 3, odd)
    assert kept is not None
    assert (kept.tags, list(kept.values), kept.ts) == (("t3",), [99.0], 3)


def modbus_tags(specs: list[tuple[str, int, float]]) -> list[ModbusTag]:
    return [
        ModbusTag(name=f"m{i}", address=addr, type=type_, scale=scale)
        for i, (type_, addr, scale) in enumerate(specs)
    ]


def test_decode_into_blocks_mixed_types_and_scaling() -> None:
    tags = modbus_tags(
        [("int16", 0, 1.0), ("float32", 1, 1.0), ("uint32", 3, 0.1), ("float64", 5, 2.0)]
    )
    read = compile_read(plan_reads(tags, ModbusLimits())[0])
    regs = list(struct.unpack(">9H", struct.pack(">hfId", -7, 1.5, 1234, 2.25)))
    out: list[Reading] = []
    blocks: list[ReadingBlock] = []
    decode_block(read, regs, 42, out, blocks)
    assert not out
    [b] = blocks
    assert (b.tags, b.ts) == (("m0", "m1", "m2", "m3"), 42)
    assert list(b.values) == [-7, 1.5, 123.4, 4.5]
    assert type(b.values[0]) is int  # integers stay integers when unscaled
    # without a blocks list: the same values as readings (the per-value path)
    decode_block(read, regs, 42, out)
    assert [(r.tag, r.value) for r in out] == list(zip(b.tags, b.values, strict=True))


def test_nan_in_the_middle_of_a_block_makes_that_value_bad_only() -> None:
    tags = modbus_tags([("float32", 2 * i, 1.0) for i in range(5)])
    read = compile_read(plan_reads(tags, ModbusLimits())[0])
    for bad in (math.nan, math.inf, -math.inf):
        values = [1.0, 2.0, bad, 4.0, 5.0]
        regs = list(struct.unpack(">10H", struct.pack(">5f", *values)))
        out: list[Reading] = []
        blocks: list[ReadingBlock] = []
        decode_block(read, regs, 5, out, blocks)
        assert not blocks  # the block goes value by value
        assert [(r.tag, r.quality, r.reason) for r in out] == [
            ("m0", Quality.GOOD, None),
            ("m1", Quality.GOOD, None),
            ("m2", Quality.BAD, "not_finite"),
            ("m3", Quality.GOOD, None),
            ("m4", Quality.GOOD, None),
        ]
        assert [r.value for r in out] == [1.0, 2.0, None, 4.0, 5.0]


def device(tags: list[dict[str, Any]]) -> ModbusDevice:
    return ModbusDevice.model_validate(
        {
            "name": "press-01",
            "path": "a/b/c",
            "driver": "modbus_tcp",
            "connection": {"host": "127.0.0.1", "port": 1},
            "tags": tags,
        }
    )


class Sink:
    def __init__(self) -> None:
        self.batches: list[TelemetryBatch] = []

    def put(self, batch: TelemetryBatch) -> None:
        self.batches.append(batch)


def test_pipeline_poll_bad_in_the_middle_observers_and_payload() -> None:
    """A poll with two blocks around a bad read: one batch; the observers see every value as
    a reading; the per-value JSON is byte for byte what the same readings give."""
    cfg = device(
        [{"name": f"t{i}", "address": 2 * i, "type": "float32", "unit": "bar"} for i in range(6)]
    )
    sink = Sink()
    observed: list[list[Reading]] = []
    clock = iter(range(1000, 2000, 10))
    pipe = DevicePipeline(
        cfg, sink, lambda *a: None, [lambda d, rs: observed.append(rs)], lambda: next(clock)
    )
    a, b = ("t0", "t1"), ("t4", "t5")
    for n in range(3):
        blocks = [
            ReadingBlock(a, [1.0 + n, 2.0], 7, ("bar", "bar")),
            ReadingBlock(b, [5.0, 6.0 + n], 8, ("bar", "bar")),
        ]
        bad = [
            Reading(t, None, Quality.BAD, 7, 7, "illegal_data_value", "bar") for t in ("t2", "t3")
        ]
        pipe.poll(blocks, bad)
    first, second, third = sink.batches
    assert first.count == 6
    assert not first.blocks  # first values: one by one
    assert [r.tag for r in second.all_readings()] == ["t0", "t5"]  # bad unchanged: not again
    assert [blk.tags for blk in third.blocks] == [("t0",), ("t5",)]
    assert [len(rs) for rs in observed] == [6, 2, 2]
    as_readings = TelemetryBatch(third.device, third.all_readings(), third.ts)
    assert telemetry_payload("e", third, 3) == telemetry_payload("e", as_readings, 3)
    values = orjson.loads(telemetry_payload("e", third, 3))["values"]
    assert values[0] == {"tag": "t0", "value": 3.0, "quality": "good", "ts": 7, "unit": "bar"}


class Watching:
    """An observer that says which tags it looks at (like the alarm observer)."""

    def __init__(self, tags: set[str]) -> None:
        self.tags = tags
        self.seen: list[list[str]] = []

    def tags_of(self, device: str) -> set[str]:
        return self.tags

    def __call__(self, device: str, readings: list[Reading]) -> None:
        self.seen.append([r.tag for r in readings])


def test_observers_get_the_block_values_of_their_tags_and_every_other_reading() -> None:
    cfg = device([{"name": f"t{i}", "address": 2 * i, "type": "float32"} for i in range(4)])
    watching, everything = Watching({"t1"}), Watching(set())
    seen_all: list[list[str]] = []
    plain = DevicePipeline(
        cfg, Sink(), lambda *a: None, [lambda d, rs: seen_all.append([r.tag for r in rs])]
    )
    picky = DevicePipeline(cfg, Sink(), lambda *a: None, [watching])
    picky_none = DevicePipeline(cfg, Sink(), lambda *a: None, [everything])
    tags = ("t0", "t1", "t2")
    for n in range(3):
        block = ReadingBlock(tags, [n + 0.5, n + 1.5, n + 2.5], n, (None,) * 3)
        bad = [Reading("t3", None, Quality.BAD, n, n, f"reason-{n}")]
        for pipe in (plain, picky, picky_none):
            pipe.poll([block], bad)
    # the first poll goes value by value: readings of every tag; then blocks
    assert seen_all[1:] == [["t0", "t1", "t2", "t3"]] * 2
    assert watching.seen[1:] == [["t1", "t3"]] * 2
    assert everything.seen[1:] == [["t3"]] * 2


def test_per_tag_payloads_cover_block_values() -> None:
    block = ReadingBlock(("a", "b"), [1.5, 2.5], 9, ("bar", None))
    batch = TelemetryBatch("p", [Reading("c", None, Quality.BAD, 9, 9, "comm_timeout")], 9, [block])
    got = {tag: orjson.loads(p) for tag, p in tag_payloads(batch)}
    assert got == {
        "a": {"v": 1, "value": 1.5, "quality": "good", "ts": 9},
        "b": {"v": 1, "value": 2.5, "quality": "good", "ts": 9},
        "c": {"v": 1, "value": None, "quality": "bad", "ts": 9},
    }
