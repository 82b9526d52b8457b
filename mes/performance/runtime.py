"""The running performance services of one MES process: the state consumer (MQTT in) and the
work units, calendars and reasons from the plant file. `mes.wiring` builds one."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from config.plant import PlantConfig
from mes.performance.consumer import StateConsumer
from mes.performance.units import Unit, work_units
from uns.topics import Namespace


class PerformanceRuntime:
    def __init__(
        self, cfg: PlantConfig, engine: Engine, *, consume: bool = True, tick_s: float = 5.0
    ) -> None:
        self.cfg = cfg
        self.engine = engine
        self.units: dict[str, Unit] = work_units(cfg)
        ns = Namespace(cfg.plant.enterprise, cfg.plant.site)
        self.consumer = (
            StateConsumer(engine, cfg.broker, ns, self.units, tick_s=tick_s)
            if consume and self.units
            else None
        )

    def start(self) -> None:
        if self.consumer is not None:
            self.consumer.start()

    def stop(self) -> None:
        if self.consumer is not None:
            self.consumer.stop()
