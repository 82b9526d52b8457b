"""Request planner: which reads fetch a set of tags. Pure: no I/O.

Tags of one area are sorted by address and merged greedily into one read while the read stays
within the per-read limit (125 registers / 2000 bits, or the device's own lower limit) and the
unused addresses between two tags do not exceed `max_gap`.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from edge.drivers.modbus.config import ModbusArea, ModbusLimits, ModbusTag

#: protocol maxima per read (Modbus application protocol: FC1/2: 2000 bits, FC3/4: 125 registers)
MAX_BITS = 2000
MAX_REGISTERS = 125


@dataclass(frozen=True, slots=True)
class PlannedTag:
    tag: ModbusTag
    #: offset of the tag's first register (or bit) inside the read
    index: int


@dataclass(frozen=True, slots=True)
class ReadRequest:
    area: ModbusArea
    #: protocol address (0-based) of the first register or bit
    address: int
    count: int
    tags: tuple[PlannedTag, ...]

    def slice(self, planned: PlannedTag) -> slice:
        return slice(planned.index, planned.index + planned.tag.size)


def protocol_address(tag: ModbusTag, addressing: int) -> int:
    return tag.address - addressing


def plan_reads(
    tags: Iterable[ModbusTag], limits: ModbusLimits, addressing: int = 0
) -> list[ReadRequest]:
    """The reads that fetch every tag once, in area then address order."""
    by_area: dict[ModbusArea, list[ModbusTag]] = {}
    for tag in tags:
        by_area.setdefault(tag.area, []).append(tag)
    out: list[ReadRequest] = []
    for area in sorted(by_area):
        group = sorted(by_area[area], key=lambda t: (t.address, t.size))
        bits = area in ("coil", "discrete_input")
        limit = (
            min(limits.max_bits_per_read, MAX_BITS)
            if bits
            else min(limits.max_registers_per_read, MAX_REGISTERS)
        )
        gap = 0 if limits.one_tag_per_request else limits.max_gap
        out.extend(_merge(area, group, limit, gap, limits.one_tag_per_request, addressing))
    return out


def _merge(
    area: ModbusArea,
    tags: Sequence[ModbusTag],
    limit: int,
    max_gap: int,
    one_per_request: bool,
    addressing: int,
) -> list[ReadRequest]:
    reads: list[ReadRequest] = []
    start = end = -1  # current read covers [start, end)
    members: list[ModbusTag] = []

    def flush() -> None:
        if members:
            planned = tuple(PlannedTag(t, protocol_address(t, addressing) - start) for t in members)
            reads.append(ReadRequest(area, start, end - start, planned))

    for tag in tags:
        first = protocol_address(tag, addressing)
        last = first + tag.size
        fits = (
            members
            and not one_per_request
            and first - end <= max_gap
            and max(end, last) - start <= limit
        )
        if fits:
            end = max(end, last)
            members.append(tag)
            continue
        flush()
        start, end, members = first, last, [tag]
    flush()
    return reads
