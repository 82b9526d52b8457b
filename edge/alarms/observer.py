"""The edge side of alarms: a `DevicePipeline` observer that runs the condition engine and
publishes condition events through the agent's durable queue.

Wire it in the agent:

    observer = build_alarm_observer(cfg, northbound)       # None when no alarm is configured
    DevicePipeline(device_cfg, northbound, on_status, observers=[observer])
    task = asyncio.create_task(observer.run_ticks())        # on/off delays with no new reading
"""

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import orjson

from config.plant import PlantConfig
from edge.alarms.conditions import ConditionEngine, ConditionEvent
from edge.alarms.state import ConditionStateFile
from edge.alarms.topics import conditions_topic
from edge.model import Reading, now_ms
from uns.topics import Namespace

log = logging.getLogger(__name__)

STATE_FILE = "alarm-conditions.json"


class DurablePublisher(Protocol):
    def publish_durable(
        self, topic: str, payload: bytes, retain: bool = False, qos: int = 1
    ) -> None: ...


def conditions_payload(agent: str, device: str, events: Sequence[ConditionEvent]) -> bytes:
    """One `_conditions` message: the events of one device from one batch (or one tick)."""
    return orjson.dumps(
        {
            "v": 1,
            "agent": agent,
            "device": device,
            "ts": now_ms(),
            "events": [e.to_json() for e in events],
        }
    )


class AlarmObserver:
    """Called by each `DevicePipeline` with `(device, readings)` after processing."""

    def __init__(
        self,
        engine: ConditionEngine,
        publisher: DurablePublisher,
        namespace: Namespace,
        agent_id: str,
        device_paths: Mapping[str, str],
        state: ConditionStateFile | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.engine = engine
        self._publisher = publisher
        self._ns = namespace
        self._agent = agent_id
        self._topics = {d: conditions_topic(namespace, p, d) for d, p in device_paths.items()}
        self._state = state
        self._clock = clock
        self.events_published = 0
        if state is not None:
            unknown = engine.restore(state.load())
            if unknown:
                log.warning("condition state names alarms no longer defined: %s", unknown)

    def tags_of(self, device: str) -> frozenset[str]:
        """The only tags of `device` whose readings matter here (see `DevicePipeline`)."""
        return self.engine.watched_tags(device)

    def __call__(self, device: str, readings: list[Reading]) -> None:
        events = self.engine.observe(device, readings)
        if events:
            self._emit(events)

    def tick(self, now: int | None = None) -> None:
        events = self.engine.tick(self._clock() if now is None else now)
        if events:
            self._emit(events)

    async def run_ticks(self, interval_s: float = 0.25) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                self.tick()
            except Exception:
                log.exception("alarm condition tick failed")

    def _emit(self, events: list[ConditionEvent]) -> None:
        by_device: dict[str, list[ConditionEvent]] = {}
        for e in events:
            by_device.setdefault(e.device, []).append(e)
        # queued first, state saved second: a crash in between re-sends an event with the same
        # event_id (the MES ignores it); the reverse order could lose the raise
        for device, evs in by_device.items():
            topic = self._topics.get(device)
            if topic is None:
                log.error("condition events for device %s with no path: %s", device, evs)
                continue
            self._publisher.publish_durable(topic, conditions_payload(self._agent, device, evs))
            self.events_published += len(evs)
        if self._state is not None:
            self._state.save(self.engine.snapshot())


def build_alarm_observer(
    cfg: PlantConfig, publisher: DurablePublisher, devices: Sequence[str] | None = None
) -> AlarmObserver | None:
    """The observer for the alarms on this agent's devices (all configured devices by default);
    None when none of them has an alarm."""
    names = set(devices) if devices is not None else {d.name for d in cfg.devices}
    definitions = [a for a in cfg.alarms if a.device in names]
    if not definitions:
        return None
    paths = {d.name: d.path for d in cfg.devices if d.name in names}
    state = ConditionStateFile(Path(cfg.edge.state_dir) / STATE_FILE)
    ns = Namespace(cfg.plant.enterprise, cfg.plant.site)
    return AlarmObserver(
        ConditionEngine(definitions, paths), publisher, ns, cfg.edge.agent_id, paths, state
    )
