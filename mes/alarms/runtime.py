"""The running alarm and quality services of one MES process: MQTT consumer, notification relay,
event hub for live streams, and the periodic jobs (auto-unshelve, escalation) on APScheduler.

`mes.wiring.build_services` makes one `AlarmRuntime` per app (`services.alarms`); the app's
lifespan starts it after the MES core (tables come from the MES migrations).
"""

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from config.plant import PlantConfig
from mes.alarms import lifecycle as lc
from mes.alarms.consumer import ConditionConsumer
from mes.alarms.models import AlarmCurrent, Notification
from mes.alarms.notify import EventHub, NotificationRelay
from mes.alarms.service import AlarmService, alarm_event
from mes.alarms.texts import AlarmTexts
from mes.core.clock import aware
from uns.sparkplug.settings import host_group
from uns.topics import Namespace

log = logging.getLogger(__name__)


def escalate_due(session: Session, cfg: PlantConfig, now: datetime) -> list[str]:
    """Unacknowledged alarms of the escalation priorities, older than the limit, not escalated
    yet: mark them and queue an `escalated` event (MQTT, webhooks, e-mail to the next level)."""
    esc = cfg.alarm_settings.escalation
    cutoff = now - timedelta(minutes=esc.after_minutes)
    rows = session.exec(
        select(AlarmCurrent)
        .where(AlarmCurrent.state == lc.AlarmState.ACTIVE_UNACKED.value)
        .where(col(AlarmCurrent.priority).in_(esc.priorities))
        .where(col(AlarmCurrent.escalated_at).is_(None))
        .with_for_update(skip_locked=True)  # replicas: each alarm escalates once
    ).all()
    done = []
    for row in rows:
        changed = aware(row.changed_at)
        if changed is None or changed > cutoff:
            continue
        row.escalated_at = now
        session.add(row)
        payload = alarm_event(row, "escalated", now, uuid.uuid4().hex)
        payload["escalated_after_minutes"] = esc.after_minutes
        session.add(Notification(topic="alarms", payload=json.dumps(payload, default=str)))
        done.append(row.alarm)
    return done


class AlarmRuntime:
    def __init__(self, cfg: PlantConfig, engine: Engine, consume: bool = True) -> None:
        self.cfg = cfg
        self.engine = engine
        self.texts = AlarmTexts(cfg.alarms)
        ns = Namespace(cfg.plant.enterprise, cfg.plant.site)
        self.service = AlarmService(cfg)
        self.hub = EventHub()
        self.relay = NotificationRelay(engine, cfg.broker, ns, cfg.alarm_settings, self.hub)
        self.consumer = (
            ConditionConsumer(
                engine,
                cfg.broker,
                ns,
                self.service,
                self.relay.wake,
                sparkplug_group=host_group(cfg),
            )
            if consume
            else None
        )
        self._scheduler: BaseScheduler | None = None

    def start(self, scheduler: BaseScheduler) -> None:
        """Start the relay and the consumer; the periodic job runs on the process's scheduler."""
        self.relay.start()
        if self.consumer is not None:
            self.consumer.start()
        self._scheduler = scheduler
        scheduler.add_job(
            self.periodic,
            "interval",
            seconds=self.cfg.alarm_settings.check_interval_s,
            id="alarms-periodic",
            max_instances=1,
            coalesce=True,
        )

    def stop(self) -> None:
        if self._scheduler is not None and self._scheduler.get_job("alarms-periodic"):
            self._scheduler.remove_job("alarms-periodic")
        self._scheduler = None
        if self.consumer is not None:
            self.consumer.stop()
        self.relay.stop()

    def periodic(self, now: datetime | None = None) -> None:
        """Auto-unshelve and escalation (run by the scheduler; callable from tests)."""
        now = now or datetime.now(UTC)
        try:
            with Session(self.engine) as session:
                unshelved = self.service.unshelve_expired(session, now)
                escalated = escalate_due(session, self.cfg, now)
                session.commit()
        except Exception:
            log.exception("alarm periodic job failed")
            return
        if unshelved or escalated:
            self.relay.wake()
