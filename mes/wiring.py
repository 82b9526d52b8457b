"""The composition root: the one place that builds the MES's services.

`open_database(cfg)` gives the engine every entry point uses, migrated to head: the runtime of
`mes serve` and the admin CLI. `build_services(cfg, engine)` makes the typed container that the
API (`app.state.services`) and its scheduler jobs use: the production service with quality's
hold policy, the scan handler and writer, authentication, the alarm runtime and the planning
service. Production never imports quality; this module hands it `QualityHolds`. Periodic jobs
of every part run on the one scheduler of the process (`MesRuntime.jobs`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from config.plant import PlantConfig
from mes.alarms.runtime import AlarmRuntime
from mes.auth.gate import LoginGate
from mes.auth.service import Authenticator, Passwords, bootstrap_admin
from mes.board.feed import BoardFeed, board_feed
from mes.core.db import make_engine
from mes.dashboard.delivery import DeliverySplits
from mes.migrations.run import upgrade_head
from mes.performance.runtime import PerformanceRuntime
from mes.planning.service import PlanningService
from mes.planning.store import board_plan
from mes.production.service import Production
from mes.quality.policy import QualityHolds
from mes.reporting.grammar import Prefixes
from mes.reporting.handler import StationHandler
from mes.reporting.jobs import JobActions
from mes.reporting.models import StationState
from mes.reporting.writer import ScanWriter


def open_database(cfg: PlantConfig) -> Engine:
    """The MES database of `cfg`, migrated to the newest schema."""
    engine = make_engine(cfg.database.url)
    try:
        upgrade_head(engine)
    except Exception:
        engine.dispose()
        raise
    return engine


def production() -> Production:
    """The production service, with quality holds; a completed order's delivery split is
    stored as it completes."""
    return Production(QualityHolds(), [DeliverySplits()])


def station_handler(
    debounce_s: float, tolerance_percent: float = 0.0, shop_floor: Production | None = None
) -> StationHandler:
    """The station handler, acting through `shop_floor` (a new production service if None)."""
    return StationHandler(JobActions(shop_floor or production()), debounce_s, tolerance_percent)


def scan_writer(engine: Engine, handler: StationHandler, **options: Any) -> ScanWriter:
    """The scan writer; `options` as `ScanWriter` takes them (lanes, group_delay_s, ...)."""
    return ScanWriter(engine, handler, QualityHolds(), **options)


@dataclass
class MesServices:
    """Everything the API, its scheduler jobs and the CLI need; one per process."""

    cfg: PlantConfig
    engine: Engine
    auth: Authenticator
    passwords: Passwords
    production: Production
    handler: StationHandler
    writer: ScanWriter
    prefixes: Prefixes
    alarms: AlarmRuntime
    logins: LoginGate
    performance: PerformanceRuntime
    planning: PlanningService
    #: the supervisor board's live change feed
    board: BoardFeed

    @cached_property
    def stations(self) -> frozenset[str]:
        return frozenset(w.id for w in self.cfg.workstations)

    def selected_job(self, session: Session, station: str) -> tuple[str | None, str | None]:
        """The work order and operation selected at `station` (None, None when none)."""
        state = session.get(StationState, station)
        return (state.work_order, state.operation) if state else (None, None)

    def start(self, scheduler: BaseScheduler) -> None:
        """Start the writer and the alarm services; periodic jobs go on the process's one
        scheduler (the runtime's)."""
        self.writer.start()
        self.alarms.start(scheduler)
        self.performance.start(scheduler)
        self.planning.start(scheduler)

    def stop(self) -> None:
        self.planning.stop()
        self.board.close()
        self.performance.stop()
        self.alarms.stop()
        self.writer.stop()


def build_services(
    cfg: PlantConfig,
    engine: Engine,
    *,
    after_commit: Callable[[], object] | None = None,
) -> MesServices:
    """Build (not start) the services; `after_commit` wakes the outbox relay after each scan
    batch."""
    passwords = Passwords(cfg.mes.security.password_min_length)
    secret = cfg.mes.bootstrap_admin_password
    with Session(engine) as session:
        try:
            if bootstrap_admin(session, passwords, secret.get_secret_value() if secret else None):
                session.commit()
        except IntegrityError:  # another replica created it at the same moment
            session.rollback()
    try:
        prefixes = Prefixes(**cfg.mes.scan_prefixes.model_dump())
    except ValueError as exc:
        raise ValueError(f"mes.scan_prefixes: {exc}") from None
    shop_floor = production()
    handler = station_handler(cfg.mes.debounce_s, cfg.mes.over_report_tolerance_percent, shop_floor)
    delay_ms = cfg.mes.scan_group_delay_ms
    writer = scan_writer(
        engine,
        handler,
        lanes=cfg.mes.scan_writer_lanes,
        group_delay_s=None if delay_ms is None else delay_ms / 1000,
        after_commit=after_commit,
    )
    performance = PerformanceRuntime(cfg, engine, after_close=after_commit)
    handler.downtime_reason = performance.reason_scanned
    return MesServices(
        cfg=cfg,
        engine=engine,
        auth=Authenticator(engine),
        passwords=passwords,
        production=shop_floor,
        handler=handler,
        writer=writer,
        prefixes=prefixes,
        alarms=AlarmRuntime(cfg, engine),
        logins=LoginGate(cfg.mes.security.login, engine),
        performance=performance,
        planning=PlanningService(cfg, engine, after_commit=after_commit),
        board=board_feed(cfg, engine, performance.units, plan_of=board_plan),
    )
