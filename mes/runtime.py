"""The running MES core of one process: database, MQTT intake/acks, outbox relay, scheduler.

`MesRuntime(cfg)` owns the engine (migrated to head and master data synced at start), one MQTT
connection (ERP orders, stock and acks in; confirmations, rejections and the plan out), the
outbox relay thread and the APScheduler jobs. `mes.app.create_app(runtime)` calls
`start()`/`stop()` in its lifespan. Several replicas may run on one PostgreSQL: see
mes/outbox/relay.py.
"""

import asyncio
import logging
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import delete, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col

from config.plant import PlantConfig
from mes.masterdata.sync import sync_master_data
from mes.orders.acks import apply_ack
from mes.orders.intake import apply_erp_message
from mes.orders.stock import STOCK_REJECTION, apply_stock_message
from mes.outbox.broker import BrokerLink, Handler
from mes.outbox.models import OutboxMessage
from mes.outbox.relay import OutboxRelay
from mes.performance.calendar import ShiftCalendar, from_shift_ends, next_shift_end
from mes.performance.calendars import ORIGIN, calendar_for
from mes.planning.publish import SCHEDULE
from mes.wiring import open_database
from uns.client import probe_protocol
from uns.topics import Namespace

log = logging.getLogger(__name__)

#: Advisory lock key that serialises master-data sync across replicas (PostgreSQL).
SYNC_LOCK = 0x5F5EED03

ShiftEndHook = Callable[[Session, datetime], object]
T = TypeVar("T")


class MesRuntime:
    def __init__(
        self,
        cfg: PlantConfig,
        *,
        replica: str | None = None,
        relay_interval_s: float = 0.5,
        outbox_retry_s: float | None = None,
        outbox_keep_days: float | None = None,
        shift_ends: tuple[str, ...] | None = None,
        connect_timeout_s: float = 10.0,
    ) -> None:
        """The arguments left as None come from the plant file (`mes.outbox_retry_s`,
        `mes.outbox_keep_days`, the shift calendar)."""
        self.cfg = cfg
        self.ns = Namespace(cfg.plant.enterprise, cfg.plant.site)
        self.replica = replica or socket.gethostname()
        self.relay_interval_s = relay_interval_s
        self.outbox_retry_s = outbox_retry_s or cfg.mes.outbox_retry_s
        self.outbox_keep_days = outbox_keep_days or cfg.mes.outbox_keep_days
        #: given: these shift ends every day (plant time); None: the default shift calendar
        self.shift_ends = None if shift_ends is None else tuple(map(time.fromisoformat, shift_ends))
        self.connect_timeout_s = connect_timeout_s
        self._engine: Engine | None = None
        self.link: BrokerLink | None = None
        self.relay: OutboxRelay | None = None
        self.scheduler: BackgroundScheduler | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._relay_thread: threading.Thread | None = None
        self._shift_hooks: list[ShiftEndHook] = [cleanup_stale_logins]

    # --- what other parts call ------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("MesRuntime.start() has not run")
        return self._engine

    @property
    def jobs(self) -> BaseScheduler:
        """The process's one scheduler: the runtime's jobs and those of the services."""
        if self.scheduler is None:
            raise RuntimeError("MesRuntime.start() has not run")
        return self.scheduler

    def session(self) -> Session:
        return Session(self.engine)

    def notify_outbox(self) -> None:
        """Wake the relay now (after a commit that wrote to the outbox); it also polls."""
        self._wake.set()

    def on_shift_end(self, hook: ShiftEndHook) -> None:
        """Run `hook(session, shift_end)` at every shift end (committed after the hook)."""
        self._shift_hooks.append(hook)

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self.start_sync)

    async def stop(self) -> None:
        await asyncio.to_thread(self.stop_sync)

    def start_sync(self) -> None:
        self._engine = open_database(self.cfg)
        self._sync_master_data()
        protocol = probe_protocol(self.cfg.broker)
        handlers: dict[str, Handler] = {
            self.ns.erp_orders: self._on_order,
            self.ns.erp_acks: self._on_ack,
            self.ns.erp_stock: self._on_stock,
        }
        self.link = BrokerLink(self.cfg.broker, f"shopfloor-mes-{self.replica}", protocol, handlers)
        self.link.on_connected = self.notify_outbox
        self.link.start()
        if not self.link.wait_connected(self.connect_timeout_s):
            log.warning("broker not connected yet; the MES keeps retrying")
        self.relay = OutboxRelay(self._engine, self.link, self._topic_for)
        self._stopping.clear()
        self._relay_thread = threading.Thread(
            target=self._relay_loop, name="outbox-relay", daemon=True
        )
        self._relay_thread.start()
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.scheduler.add_job(
            self.notify_outbox, "interval", seconds=self.outbox_retry_s, id="outbox-retry"
        )
        self.scheduler.add_job(self.purge_outbox, "interval", hours=6, id="outbox-purge")
        self._schedule_shift_end(datetime.now(UTC))
        self.scheduler.start()

    def stop_sync(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        if self.link is not None:
            self.link.stop()  # first: a relay waiting for PUBACKs gives up at once
        if self._relay_thread is not None:
            self._relay_thread.join(15)
            self._relay_thread = None
        if self.relay is not None:
            self.relay.close()
            self.relay = None
        self.link = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # --- internals ------------------------------------------------------------------------

    def _topic_for(self, kind: str) -> str:
        if kind == "kpi":
            return self.ns.kpi
        if kind == STOCK_REJECTION:
            return self.ns.erp_stock_rejected
        if kind == SCHEDULE:
            return self.ns.schedule
        return self.ns.erp_rejected if kind == "rejection" else self.ns.confirmations

    def _sync_master_data(self) -> None:
        with self.session() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SYNC_LOCK})
            sync_master_data(session, self.cfg)
            session.commit()

    def _relay_loop(self) -> None:
        while not self._stopping.is_set():
            relay = self.relay
            if relay is not None:
                try:
                    relay.drain()
                except Exception:  # the relay must outlive database hiccups
                    log.exception("outbox relay pass failed; retrying")
            self._wake.wait(self.relay_interval_s)
            self._wake.clear()

    def _transact(self, fn: Callable[[Session], T], attempts: int = 3) -> T:
        """Run `fn` in a transaction; retry when another writer got in the way (SQLite busy
        snapshot) or another replica applied the same message first (unique violation): the
        retry then sees it and answers "duplicate"."""
        for attempt in range(1, attempts + 1):
            try:
                with self.session() as session:
                    out = fn(session)
                    session.commit()
                    return out
            except (IntegrityError, OperationalError):
                if attempt == attempts:
                    raise
                log.info("transaction conflict, retrying (%d/%d)", attempt, attempts)
                self._stopping.wait(0.1 * attempt)  # back off; returns at once when stopping
        raise AssertionError("unreachable")

    def _on_order(self, _topic: str, payload: bytes) -> None:
        limit = self.cfg.mes.erp.max_message_bytes
        result = self._transact(lambda s: apply_erp_message(s, payload, max_bytes=limit))
        log.info(
            "ERP message %s: %s %s", result.message_id, result.outcome, result.work_order or ""
        )
        self.notify_outbox()

    def _on_stock(self, _topic: str, payload: bytes) -> None:
        limit = self.cfg.mes.erp.max_message_bytes
        result = self._transact(lambda s: apply_stock_message(s, payload, max_bytes=limit))
        log.info("ERP stock message %s: %s %s", result.message_id, result.outcome, result.materials)
        self.notify_outbox()

    def _on_ack(self, _topic: str, payload: bytes) -> None:
        closed = self._transact(lambda s: apply_ack(s, payload))
        if closed:
            log.info("%s CLOSED: the ERP acknowledged its final confirmation", closed)

    def purge_outbox(self) -> int:
        cutoff = datetime.now(UTC) - timedelta(days=self.outbox_keep_days)
        with self.session() as session:
            result = session.exec(
                delete(OutboxMessage)
                .where(col(OutboxMessage.published_at).is_not(None))
                .where(col(OutboxMessage.published_at) < cutoff)
            )
            session.commit()
        return int(getattr(result, "rowcount", 0) or 0)

    def shift_calendar(self) -> ShiftCalendar:
        """The default work centre's shift calendar (docs/performance.md): its shift ends log
        out the operators still logged in."""
        if self.shift_ends is not None:
            zone = self.cfg.mes.shifts.timezone
            return ShiftCalendar((from_shift_ends(self.shift_ends, zone, ORIGIN),))
        with self.session() as session:
            return calendar_for(session, self.cfg, None)

    def _schedule_shift_end(self, after: datetime) -> None:
        end = next_shift_end(self.shift_calendar(), after)
        if end is not None and self.scheduler is not None:
            self.scheduler.add_job(
                self._shift_end_due,
                "date",
                run_date=end,
                args=[end],
                id="shift-end",
                replace_existing=True,
            )

    def _shift_end_due(self, end: datetime) -> None:
        try:
            self.run_shift_end(end)
        finally:
            self._schedule_shift_end(end)

    def run_shift_end(self, now: datetime | None = None) -> None:
        at = now or datetime.now(UTC)
        for hook in self._shift_hooks:
            try:
                with self.session() as session:
                    hook(session, at)
                    session.commit()
            except Exception:  # one failing hook must not stop the others
                log.exception("shift-end hook %r failed", hook)


def cleanup_stale_logins(session: Session, shift_end: datetime) -> Any:
    """Log out operators still logged in at shift end (the scan engineer's `station_login`)."""
    try:
        from mes.reporting.models import StationLogin
    except ImportError:  # pragma: no cover - scan reporting not installed
        return 0
    result = session.exec(delete(StationLogin).where(col(StationLogin.logged_in_at) <= shift_end))
    return getattr(result, "rowcount", 0)
