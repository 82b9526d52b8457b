"""The Modbus TCP/RTU driver: one device (one unit id), one connection, one poller.

- Tags are grouped by poll interval; each group runs at a fixed rate without drift. A poll that
  overruns its slot skips the missed slots (counted in `overruns`, logged), never queues them.
- Requests come from the pure planner; each block is decoded by the pure codec (which also
  applies scale/offset, so the pipeline does not).
- A Modbus exception gives bad quality with the exception's name on the tags of that read; the
  connection stays up. A block refused with illegal data address is split into one read per
  tag at once (in the same poll, so a hole between tags costs no bad values) and stays split,
  across restarts too (see learned.py). A tag refused on its own is a configuration problem:
  it is reported once in the log and stays bad with reason `illegal_data_address` without
  being asked again; no reconnect.
- Timeouts and connection losses make every tag bad at once (`comm_timeout`, `disconnected`)
  and reconnect with exponential backoff plus jitter.
"""

import asyncio
import logging
import math
import random
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.drivers.base import DriverHost, WriteFailed, WriteRefused
from edge.drivers.modbus.codec import (
    ILLEGAL_DATA_ADDRESS,
    CodecError,
    Decoder,
    Layout,
    block_bytes,
    block_unpacker,
    encode,
    make_decoder,
)
from edge.drivers.modbus.config import ModbusDevice, ModbusTag
from edge.drivers.modbus.learned import LearnedSplits
from edge.drivers.modbus.link import DeviceException, LinkDown, ModbusLink
from edge.drivers.modbus.planner import ReadRequest, plan_reads, protocol_address
from edge.drivers.modbus.polling import PollGroup, backoff_delay, next_due
from edge.model import Quality, Reading, ReadingBlock, Value, now_ms
from edge.stopping import raise_if_cancelled

log = logging.getLogger(__name__)

ILLEGAL_ADDRESS_REASON = "illegal_data_address"
OVERRUN_LOG_INTERVAL_S = 60.0


@dataclass(frozen=True, slots=True)
class _Slot:
    """One tag inside one read, with its decoder compiled once."""

    tag: ModbusTag
    name: str
    unit: str | None
    index: int
    bits: bool
    decode: Decoder


@dataclass(frozen=True, slots=True)
class _Read:
    request: ReadRequest
    slots: tuple[_Slot, ...]
    #: decodes the whole block in one call when every tag allows it (see `block_unpacker`)
    unpack: struct.Struct | None = None
    #: (position in slots, scale, offset) of the tags the block decoder leaves to scale
    scaled: tuple[tuple[int, float, float], ...] = ()
    #: the tag names and units of the slots, the same tuples at every poll (`ReadingBlock`)
    tags: tuple[str, ...] = ()
    units: tuple[str | None, ...] = ()


def compile_read(req: ReadRequest) -> _Read:
    slots = tuple(
        _Slot(p.tag, p.tag.name, p.tag.unit, p.index, p.tag.is_bit_area, make_decoder(p.tag.layout))
        for p in req.tags
    )
    unpack = None
    if not req.tags or not req.tags[0].tag.is_bit_area:
        unpack = block_unpacker([(p.tag.layout, p.index) for p in req.tags], req.count)
    scaled = tuple(
        (i, p.tag.layout.scale, p.tag.layout.offset)
        for i, p in enumerate(req.tags)
        if p.tag.layout.scale != 1.0 or p.tag.layout.offset != 0.0
    )
    tags = tuple(s.name for s in slots)
    units = tuple(s.unit for s in slots)
    return _Read(req, slots, unpack, scaled, tags, units)


@dataclass(slots=True)
class _Group:
    schedule: PollGroup
    tags: list[ModbusTag]
    reads: list[_Read]
    #: overruns not yet logged, and when the last overrun line was logged (monotonic s)
    unlogged: int = 0
    logged_at: float = float("-inf")


def bad_reading(tag: ModbusTag, reason: str, at: int) -> Reading:
    return Reading(tag.name, None, Quality.BAD, at, at, reason, tag.unit)


def decode_block(
    read: _Read,
    data: Sequence[Any],
    at: int,
    out: list[Reading],
    blocks: list[ReadingBlock] | None = None,
) -> None:
    """The readings of every tag of one read block (the polling hot path).

    With `blocks`, a block decoded in one call whose values are all finite is appended there
    as one `ReadingBlock` (no object per value); otherwise every value becomes a `Reading` in
    `out` (a value that is not finite then turns bad with reason `not_finite`).
    """
    good = Quality.GOOD
    if read.unpack is not None:
        try:
            values = read.unpack.unpack_from(block_bytes(data))
        except struct.error:  # e.g. a short block: per tag below, which names the tag
            pass
        else:
            if read.scaled:
                scaled = list(values)
                for i, scale, offset in read.scaled:
                    scaled[i] = scaled[i] * scale + offset
                values = tuple(scaled)
            # one C-level sum: NaN or an infinity anywhere makes it non-finite (an overflow
            # of huge finite values too, which only costs the per-value path)
            if blocks is not None and math.isfinite(sum(values)):
                blocks.append(ReadingBlock(read.tags, values, at, read.units))
                return
            out.extend(
                [
                    Reading(s.name, v, good, at, at, None, s.unit)
                    for s, v in zip(read.slots, values, strict=True)
                ]
            )
            return
    for s in read.slots:
        try:
            value: Value = bool(data[s.index]) if s.bits else s.decode(data, s.index)
        except (CodecError, struct.error) as exc:
            out.append(Reading(s.name, None, Quality.BAD, at, at, f"decode_error: {exc}", s.unit))
            continue
        out.append(Reading(s.name, value, good, at, at, None, s.unit))


class ModbusDriver:
    """Implements `edge.drivers.base.Driver` for `modbus_tcp` and `modbus_rtu` devices."""

    def __init__(
        self, cfg: ModbusDevice, state_dir: Path | None = None, rng: random.Random | None = None
    ) -> None:
        self.cfg = cfg
        self.link = ModbusLink(cfg)
        self._rng = rng or random.Random()
        self._lock = asyncio.Lock()
        #: tags whose address the device refused: never asked again (a configuration problem)
        self.illegal: set[str] = set()
        #: tags read one per request because a merged block around them was refused
        self._learned = LearnedSplits(state_dir, cfg) if state_dir is not None else None
        self._isolated: set[str] = self._learned.load() if self._learned else set()
        self.connects = 0
        #: failed connection attempts since the last completed poll (drives the backoff)
        self._attempts = 0
        self._groups = self._make_groups()

    @property
    def overruns(self) -> int:
        return sum(g.schedule.overruns for g in self._groups)

    def _make_groups(self) -> list[_Group]:
        by_interval: dict[int, list[ModbusTag]] = {}
        for t in self.cfg.tags:
            by_interval.setdefault(t.poll_interval_ms or self.cfg.poll_interval_ms, []).append(t)
        groups = []
        for interval, tags in sorted(by_interval.items()):
            g = _Group(PollGroup(interval / 1000, 0.0), tags, [])
            self._replan(g)
            groups.append(g)
        return groups

    def _replan(self, group: _Group) -> None:
        cfg = self.cfg
        live = [t for t in group.tags if t.name not in self.illegal]
        merged = [t for t in live if t.name not in self._isolated]
        alone = [t for t in live if t.name in self._isolated]
        requests = plan_reads(merged, cfg.limits, cfg.addressing)
        group.reads = [compile_read(r) for r in requests] + self._one_by_one(alone)

    def _one_by_one(self, tags: list[ModbusTag]) -> list[_Read]:
        single = self.cfg.limits.model_copy(update={"one_tag_per_request": True})
        return [compile_read(r) for r in plan_reads(tags, single, self.cfg.addressing)]

    # -- running -----------------------------------------------------------------------------

    async def run(self, host: DriverHost) -> None:
        cfg = self.cfg
        host.status("connecting")
        try:
            while True:
                try:
                    async with self._lock:
                        await self.link.connect()
                    self.connects += 1
                    host.status("connected")
                    await self._poll_loop(host)
                except LinkDown as exc:
                    raise_if_cancelled()
                    self.link.close()
                    self._bad_all(host, exc.reason)
                    host.status("disconnected", f"{exc.reason}: {exc}")
                    delay = backoff_delay(
                        self._attempts,
                        cfg.reconnect_min_ms / 1000,
                        cfg.reconnect_max_ms / 1000,
                        self._rng,
                    )
                    self._attempts += 1
                    log.info("%s: %s; reconnecting in %.2f s", cfg.name, exc.reason, delay)
                    await asyncio.sleep(delay)
        finally:
            self.link.close()

    def _bad_all(self, host: DriverHost, reason: str) -> None:
        at = now_ms()
        illegal = self.illegal
        host.readings(
            [
                bad_reading(t, ILLEGAL_ADDRESS_REASON if t.name in illegal else reason, at)
                for t in self.cfg.tags
            ]
        )

    async def _poll_loop(self, host: DriverHost) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        for g in self._groups:
            g.schedule.due = start
        limits = self.cfg.limits
        while True:
            now = loop.time()
            wait = next_due(g.schedule for g in self._groups) - now
            if wait > 0:
                await asyncio.sleep(wait)
            for g in self._groups:
                if g.schedule.due > loop.time():
                    continue
                await self._poll_group(g, host)
                now = loop.time()
                missed = g.schedule.advance(now)
                if missed:
                    self._log_overrun(g, missed, now)
            self._attempts = 0
            if limits.reconnect_after_poll:
                async with self._lock:
                    self.link.close()
                    await self.link.connect()
                self.connects += 1

    def _log_overrun(self, group: _Group, missed: int, now: float) -> None:
        """Overruns are counted always, logged at most once a minute per group."""
        group.unlogged += missed
        if now - group.logged_at < OVERRUN_LOG_INTERVAL_S:
            return
        log.warning(
            "%s: polls of the %g s group overran; %d poll(s) skipped since the last report",
            self.cfg.name,
            group.schedule.interval_s,
            group.unlogged,
        )
        group.unlogged, group.logged_at = 0, now

    async def _poll_group(self, group: _Group, host: DriverHost) -> None:
        pause = self.cfg.limits.pause_between_requests_ms / 1000
        out: list[Reading] = []
        blocks: list[ReadingBlock] = []
        problems: list[str] = []
        replan = False
        reads = list(group.reads)
        i = 0
        while i < len(reads):
            rd = reads[i]
            req = rd.request
            if i and pause:
                await asyncio.sleep(pause)
            i += 1
            try:
                async with self._lock:
                    data = await self.link.read(req.area, req.address, req.count)
            except DeviceException as exc:
                at = now_ms()
                if exc.code == ILLEGAL_DATA_ADDRESS:
                    replan = True
                    reads[i:i] = self._illegal_address(req)
                    continue
                problems.append(f"{req.area} {req.address}+{req.count}: {exc.reason}")
                out.extend(bad_reading(p.tag, exc.reason, at) for p in req.tags)
                continue
            decode_block(rd, data, now_ms(), out, blocks)
        illegal = self.illegal
        if illegal:  # not a scan of every tag on every poll of a healthy device
            at = now_ms()
            out.extend(
                bad_reading(t, ILLEGAL_ADDRESS_REASON, at) for t in group.tags if t.name in illegal
            )
        if replan:
            self._replan(group)
        host.poll(blocks, out)
        if self.illegal:
            problems.append(f"{ILLEGAL_ADDRESS_REASON}: {', '.join(sorted(self.illegal))}")
        host.status("degraded" if problems else "connected", "; ".join(problems) or None)

    def _illegal_address(self, req: ReadRequest) -> list[_Read]:
        """A block was refused with illegal data address: with several tags, the reads that
        fetch them one by one, in this poll already and from now on (kept across restarts);
        with one tag, that tag is a configuration problem."""
        if len(req.tags) > 1:
            self._isolated.update(p.tag.name for p in req.tags)
            if self._learned is not None:
                self._learned.remember(req)
            return self._one_by_one([p.tag for p in req.tags])
        tag = req.tags[0].tag
        self.illegal.add(tag.name)
        log.error(
            "%s: tag %s: the device has no %s at address %d (illegal data address); "
            "check the configuration. The tag stays bad and is not read again.",
            self.cfg.name,
            tag.name,
            tag.area,
            tag.address,
        )
        return []

    # -- writes ------------------------------------------------------------------------------

    async def write(self, tag: str, value: Value) -> None:
        cfg = self.cfg
        try:
            t = cfg.tag(tag)
        except KeyError:
            raise WriteRefused(f"device {cfg.name} has no tag {tag!r}") from None
        if not t.writable:
            raise WriteRefused(f"tag {tag!r} of {cfg.name} is not writable")
        try:
            registers = encode(Layout("bool") if t.is_bit_area else t.layout, value)
        except CodecError as exc:
            raise WriteRefused(f"tag {tag!r}: {exc}") from None
        address = protocol_address(t, cfg.addressing)
        async with self._lock:
            if not self.link.connected:
                raise WriteFailed(f"device {cfg.name} is not connected")
            try:
                await self.link.write(t.area, address, registers)
            except DeviceException as exc:
                raise WriteFailed(f"device {cfg.name} refused the write: {exc.reason}") from None
            except LinkDown as exc:
                raise WriteFailed(f"write to {cfg.name} failed: {exc.reason}") from None
