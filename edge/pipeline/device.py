"""`DevicePipeline`: the `DriverHost` of one device. Processes each reading per tag (the good
values of whole read blocks in columns), hands one batch per poll to the sink and the processed
readings to the observers (e.g. alarm detection)."""

import asyncio
import logging
from collections.abc import Callable, Sequence

from edge.drivers.base import Capabilities, DeviceConfig, DeviceState, TagConfig
from edge.drivers.registry import DriverRegistry, built_in
from edge.model import BatchSink, Reading, ReadingBlock, TelemetryBatch, now_ms
from edge.pipeline.processing import BlockPlan, TagProcessor, TagRules, plan_block, process_block

log = logging.getLogger(__name__)

StatusCallback = Callable[[str, DeviceState, str | None], None]
#: called with (device, processed readings) after each batch; an observer that has a
#: `tags_of(device) -> Collection[str]` method is given the good block values of those tags
#: only (plus every other reading), so the block path builds no reading it would ignore
Observer = Callable[[str, list[Reading]], None]


def _watched(observers: Sequence[Observer], device: str) -> frozenset[str] | None:
    """The block tags the observers want as readings; None: all of them."""
    out: set[str] = set()
    for o in observers:
        tags_of = getattr(o, "tags_of", None)
        if tags_of is None:
            return None
        out.update(tags_of(device))
    return frozenset(out)


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def tag_rules(caps: Capabilities, tag: TagConfig, stale_after_ms: int | None) -> TagRules:
    """The processing rules of one tag, from any driver's tag config."""
    return TagRules(
        apply_scale=not caps.scales_values,
        scale=tag.scale,
        offset=tag.offset,
        unit=tag.unit,
        deadband=tag.deadband,
        deadband_percent=tag.deadband_percent,
        max_age_ms=_ms(tag.max_age_s),
        stale_after_ms=stale_after_ms,
    )


class DevicePipeline:
    """Implements `edge.drivers.base.DriverHost` for one device.

    Synchronous and cheap: the driver's task calls it, so a slow device only ever delays itself.
    Call `tick(now_ms)` periodically (or run `run_ticks()` as a task) for stale flags and
    heartbeats of values that stopped arriving.
    """

    def __init__(
        self,
        device_cfg: DeviceConfig,
        sink: BatchSink,
        on_status: StatusCallback,
        observers: Sequence[Observer] = (),
        clock: Callable[[], int] = now_ms,
        drivers: DriverRegistry | None = None,
    ) -> None:
        self.device: str = device_cfg.name
        caps = (drivers or built_in()).spec(device_cfg).capabilities
        stale = device_cfg.stale_after_ms()
        self._sink = sink
        self._on_status = on_status
        self._observers = tuple(observers)
        self._watched = _watched(self._observers, device_cfg.name)
        self._clock = clock
        created = clock()
        self._tags = {
            t.name: TagProcessor(t.name, tag_rules(caps, t, stale[t.name]), created)
            for t in device_cfg.tags
        }
        periods = [
            p
            for proc in self._tags.values()
            for p in (proc.rules.stale_after_ms, proc.rules.max_age_ms)
            if p is not None
        ]
        #: how often `tick` is worth calling (ms)
        self.tick_interval_ms = max(50, min(1000, min(periods, default=4000) // 4))
        self.state: DeviceState = "connecting"
        self.error: str | None = None
        #: block plans by the driver's tag and unit tuples of each read (a handful per device)
        self._plans: dict[tuple[tuple[str, ...], tuple[str | None, ...]], BlockPlan] = {}

    # DriverHost
    def readings(self, readings: Sequence[Reading]) -> None:
        self.poll((), readings)

    def poll(self, blocks: Sequence[ReadingBlock], readings: Sequence[Reading]) -> None:
        now = self._clock()
        out: list[Reading] = []
        kept: list[ReadingBlock] = []
        for b in blocks:
            layout = (b.tags, b.units)
            plan = self._plans.get(layout)
            if plan is None:
                if len(self._plans) > 4096:  # a driver that makes new tuples every poll
                    self._plans.clear()
                plan = self._plans[layout] = plan_block(self._tags, b)
            published = process_block(plan, b, now, out)
            if published is not None:
                kept.append(published)
        for r in readings:
            proc = self._tags.get(r.tag)
            if proc is None:  # a tag the config does not know: pass it through unprocessed
                out.append(r)
                continue
            p = proc.process(r, now)
            if p is not None:
                out.append(p)
        self._emit(out, now, kept)

    def status(self, state: DeviceState, error: str | None = None) -> None:
        if state == self.state and error == self.error:
            return
        self.state, self.error = state, error
        self._on_status(self.device, state, error)

    def tick(self, now: int | None = None) -> None:
        """Publish stale flags and heartbeats that are due."""
        now = self._clock() if now is None else now
        out = [r for proc in self._tags.values() if (r := proc.tick(now)) is not None]
        self._emit(out, now)

    async def run_ticks(self) -> None:
        """Call `tick` every `tick_interval_ms` until cancelled."""
        while True:
            await asyncio.sleep(self.tick_interval_ms / 1000)
            self.tick()

    def _emit(self, out: list[Reading], now: int, blocks: list[ReadingBlock] | None = None) -> None:
        if not out and not blocks:
            return
        batch = TelemetryBatch(self.device, out, now, blocks or [])
        self._sink.put(batch)
        if not self._observers:
            return
        readings = out
        if blocks:
            watched = self._watched
            if watched is None:
                readings = batch.all_readings()
            else:
                readings = [r for b in blocks for r in b.readings(watched)] + out
        for observer in self._observers:
            try:
                observer(self.device, readings)
            except Exception:
                log.exception("observer %r failed on device %s", observer, self.device)
