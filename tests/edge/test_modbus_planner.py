"""Request planner, pure: merging, gaps, limits, one tag per request, addressing."""

from edge.drivers.modbus.config import ModbusLimits, ModbusTag
from edge.drivers.modbus.planner import plan_reads


def tag(
    name: str, address: int, type_: str = "uint16", area: str = "holding_register"
) -> ModbusTag:
    return ModbusTag(name=name, address=address, type=type_, area=area)  # type: ignore[arg-type]


def spans(reads: list) -> list[tuple[str, int, int, list[str]]]:
    return [(r.area, r.address, r.count, [p.tag.name for p in r.tags]) for r in reads]


def test_merges_neighbours_and_fills_small_gaps() -> None:
    tags = [tag("c", 20, "float32"), tag("a", 0), tag("b", 3, "uint32")]
    reads = plan_reads(tags, ModbusLimits(max_gap=10))
    assert spans(reads) == [
        ("holding_register", 0, 5, ["a", "b"]),
        ("holding_register", 20, 2, ["c"]),
    ]
    read = reads[0]
    assert [read.slice(p) for p in read.tags] == [slice(0, 1), slice(3, 5)]


def test_gap_above_max_splits() -> None:
    tags = [tag("a", 0), tag("b", 12)]
    assert len(plan_reads(tags, ModbusLimits(max_gap=10))) == 2
    assert len(plan_reads(tags, ModbusLimits(max_gap=11))) == 1


def test_never_more_than_125_registers_or_the_device_limit() -> None:
    tags = [tag(f"t{i}", i * 2, "float32") for i in range(100)]  # 200 registers
    reads = plan_reads(tags, ModbusLimits())
    assert all(r.count <= 125 for r in reads)
    assert sum(len(r.tags) for r in reads) == 100
    small = plan_reads(tags, ModbusLimits(max_registers_per_read=16))
    assert all(r.count <= 16 for r in small)
    assert len(small) == 13


def test_bits_up_to_2000_per_read() -> None:
    tags = [tag(f"c{i}", i, "bool", "coil") for i in range(2500)]
    reads = plan_reads(tags, ModbusLimits())
    assert [r.count for r in reads] == [2000, 500]


def test_one_tag_per_request_and_areas_apart() -> None:
    tags = [tag("a", 0), tag("b", 1), tag("x", 0, area="input_register")]
    reads = plan_reads(tags, ModbusLimits(one_tag_per_request=True))
    assert spans(reads) == [
        ("holding_register", 0, 1, ["a"]),
        ("holding_register", 1, 1, ["b"]),
        ("input_register", 0, 1, ["x"]),
    ]


def test_one_based_addressing_shifts_to_protocol_addresses() -> None:
    reads = plan_reads([tag("a", 40), tag("b", 41)], ModbusLimits(), addressing=1)
    assert spans(reads) == [("holding_register", 39, 2, ["a", "b"])]


def test_overlapping_tags_share_a_read() -> None:
    reads = plan_reads([tag("word", 5), tag("f", 5, "float32")], ModbusLimits(max_gap=0))
    assert spans(reads) == [("holding_register", 5, 2, ["word", "f"])]
