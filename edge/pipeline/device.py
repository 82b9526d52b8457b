"""`DevicePipeline`: the `DriverHost` of one device. Processes each reading per tag, hands one
batch per poll to the sink and the processed readings to the observers (e.g. alarm detection)."""

import asyncio
import logging
from collections.abc import Callable, Sequence

from edge.drivers.base import Capabilities, DeviceConfig, DeviceState, TagConfig
from edge.drivers.registry import DriverRegistry, built_in
from edge.model import BatchSink, Reading, TelemetryBatch, now_ms
from edge.pipeline.processing import TagProcessor, TagRules

log = logging.getLogger(__name__)

StatusCallback = Callable[[str, DeviceState, str | None], None]
Observer = Callable[[str, list[Reading]], None]


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

    # DriverHost
    def readings(self, readings: Sequence[Reading]) -> None:
        now = self._clock()
        out: list[Reading] = []
        for r in readings:
            proc = self._tags.get(r.tag)
            if proc is None:  # a tag the config does not know: pass it through unprocessed
                out.append(r)
                continue
            published = proc.process(r, now)
            if published is not None:
                out.append(published)
        self._emit(out, now)

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

    def _emit(self, out: list[Reading], now: int) -> None:
        if not out:
            return
        self._sink.put(TelemetryBatch(self.device, out, now))
        for observer in self._observers:
            try:
                observer(self.device, out)
            except Exception:
                log.exception("observer %r failed on device %s", observer, self.device)
