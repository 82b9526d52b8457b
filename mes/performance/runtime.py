"""The running performance services of one MES process: the state consumer (MQTT in) and the
work units, calendars and reasons from the plant file. `mes.wiring` builds one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy.engine import Engine
from sqlmodel import Session

from config.plant import PlantConfig
from mes.performance import downtime
from mes.performance.consumer import StateConsumer
from mes.performance.figures import close_periods
from mes.performance.units import Unit, work_units
from uns.sparkplug.settings import host_group
from uns.topics import Namespace


class PerformanceRuntime:
    def __init__(
        self,
        cfg: PlantConfig,
        engine: Engine,
        *,
        consume: bool = True,
        tick_s: float = 5.0,
        after_close: Callable[[], object] | None = None,
    ) -> None:
        self.cfg = cfg
        self.engine = engine
        self.units: dict[str, Unit] = work_units(cfg)
        ns = Namespace(cfg.plant.enterprise, cfg.plant.site)
        self.consumer = (
            StateConsumer(
                engine,
                cfg.broker,
                ns,
                self.units,
                tick_s=tick_s,
                sparkplug_group=host_group(cfg),
                payloads=cfg.edge.payloads,
            )
            if consume and self.units
            else None
        )
        self.reason_codes = frozenset(
            r.code for group in cfg.performance.reasons for r in group.reasons
        )
        self._scheduler: BaseScheduler | None = None
        #: called after figures were stored with `_mes/kpi` messages (wakes the outbox relay)
        self.after_close = after_close

    def reason_scanned(self, session: Session, station: str, code: str, by: str) -> bool:
        """An `RSN:<code>` scan at a work unit: the code of the reason tree explains its open
        (or latest unexplained) downtime event. False when there is none or the code is not in
        the tree (then it only serves the next pause, as before)."""
        if station not in self.units or code not in self.reason_codes:
            return False
        event = downtime.open_event(session, station)
        if event is None:
            return False
        downtime.give_reason(session, event, code, by)
        return True

    def close_periods(self, now: datetime | None = None) -> int:
        """Pre-aggregate every period that has ended; returns the rows stored."""
        with Session(self.engine) as session:
            rows = close_periods(session, self.cfg, self.units.values(), now or datetime.now(UTC))
            session.commit()
        if rows and self.after_close is not None:
            self.after_close()
        return len(rows)

    def start(self, scheduler: BaseScheduler) -> None:
        """Start the consumer; the period job runs on the process's one scheduler."""
        if self.consumer is not None:
            self.consumer.start()
        if self.units:
            self._scheduler = scheduler
            scheduler.add_job(
                self.close_periods,
                "interval",
                seconds=30,
                id="performance-periods",
                max_instances=1,
                coalesce=True,
            )

    def stop(self) -> None:
        if self._scheduler is not None and self._scheduler.get_job("performance-periods"):
            self._scheduler.remove_job("performance-periods")
        self._scheduler = None
        if self.consumer is not None:
            self.consumer.stop()
