"""The MES side of alarms: condition events and operator actions through the lifecycle, into the
journal, the current-state table and the notification outbox, in the caller's transaction.

The edge owns detection (`edge.alarms.conditions`); the MES owns the lifecycle. It also detects
silence itself: an agent whose `_status` says offline (its MQTT will) or a device reported
disconnected raises `{agent}._edge.offline` / `{device}._status.disconnected`.
"""

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from config.alarms import QualityAction
from config.plant import PlantConfig
from edge.alarms.conditions import Condition, ConditionEvent
from mes.alarms import lifecycle as lc
from mes.alarms.models import AlarmCurrent, AlarmJournal, Notification
from mes.core import audit
from mes.core.clock import aware
from mes.quality.closed_loop import hold_affected_window

PRIORITIES = ("critical", "high", "medium", "low")


def ms_to_dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@dataclass(frozen=True, slots=True)
class AlarmInfo:
    """What the plant file says about one alarm (or what the MES infers for its own)."""

    alarm: str
    priority: str
    area: str
    path: str
    workstation: str | None = None
    latching: bool = False
    quality_action: QualityAction | None = None


class AlarmCatalogue:
    """Alarm definitions of the plant file, by alarm id."""

    def __init__(self, cfg: PlantConfig) -> None:
        self.device_paths = {d.name: d.path for d in cfg.devices}
        self.by_id: dict[str, AlarmInfo] = {}
        for a in cfg.alarms:
            path = f"{self.device_paths.get(a.device, '')}/{a.device}"
            self.by_id[a.alarm_id] = AlarmInfo(
                a.alarm_id,
                a.priority,
                path.split("/", 1)[0],
                path,
                a.workstation,
                a.latching,
                a.quality_action,
            )

    def info(self, alarm: str, device: str | None = None, priority: str = "medium") -> AlarmInfo:
        known = self.by_id.get(alarm)
        if known is not None:
            return known
        dev = device or alarm.split(".", 1)[0]
        cell = self.device_paths.get(dev)
        path = f"{cell}/{dev}" if cell else dev
        area = cell.split("/", 1)[0] if cell else "_edge"
        return AlarmInfo(alarm, priority, area, path)


def _locked(session: Session, alarm: str) -> AlarmCurrent | None:
    """The alarm's row, locked for this transaction (PostgreSQL): the consumer and an operator
    acting at the same moment are applied one after the other, never one over the other."""
    q = select(AlarmCurrent).where(AlarmCurrent.alarm == alarm).with_for_update()
    return session.exec(q).first()


def status_of(row: AlarmCurrent) -> lc.AlarmStatus:
    return lc.AlarmStatus(
        alarm=row.alarm,
        state=lc.AlarmState(row.state),
        condition_active=row.condition_active,
        suppressed=row.suppressed,
        latching=row.latching,
        value=json.loads(row.value_json),
        limit=row.limit,
        changed_at=aware(row.changed_at),
        by=row.by,
        comment=row.comment,
        shelved_until=aware(row.shelved_until),
    )


def alarm_event(row: AlarmCurrent, action: str, at: datetime, event_id: str) -> dict[str, Any]:
    """The `_mes/alarms` payload (docs/contracts.md section 7, plus `action`, `area`, `workstation`,
    `comment` as documented extensions)."""
    return {
        "v": 1,
        "event_id": event_id,
        "alarm": row.alarm,
        "state": row.state,
        "priority": row.priority,
        "value": json.loads(row.value_json),
        "limit": row.limit,
        "message": row.message,
        "path": row.path,
        "at": at.isoformat(),
        "by": row.by,
        "action": action,
        "area": row.area,
        "workstation": row.workstation,
        "comment": row.comment,
    }


def _action_name(event: lc.Event) -> str:
    return lc._event_name(type(event))


class AlarmService:
    def __init__(self, cfg: PlantConfig) -> None:
        self.catalogue = AlarmCatalogue(cfg)

    def _row(
        self, session: Session, alarm: str, device: str | None = None, priority: str = "medium"
    ) -> AlarmCurrent:
        row = _locked(session, alarm)
        info = self.catalogue.by_id.get(alarm)
        if row is None:
            info = info or self.catalogue.info(alarm, device, priority)
            row = AlarmCurrent(alarm=alarm, area=info.area, path=info.path)
        if info is not None:  # the plant file is the truth, also after it was edited
            row.priority = info.priority
            row.workstation = info.workstation
            row.latching = info.latching
        elif row.priority != priority and priority in PRIORITIES:
            row.priority = priority
        return row

    def _apply(
        self,
        session: Session,
        row: AlarmCurrent,
        event: lc.Event,
        event_id: str,
        message: str | None = None,
    ) -> bool:
        before = status_of(row)
        after = lc.apply(before, event)
        if after == before:
            return False
        was_active = row.condition_active
        row.state = after.state.value
        row.condition_active = after.condition_active
        row.suppressed = after.suppressed
        row.value_json = json.dumps(after.value, default=str)
        row.limit = after.limit
        row.changed_at = after.changed_at
        row.by = after.by
        row.comment = after.comment
        row.shelved_until = after.shelved_until
        if message is not None:
            row.message = message
        if after.condition_active and not was_active:
            row.active_since = event.at
        elif not after.condition_active:
            row.active_since = None
        if after.state is not lc.AlarmState.ACTIVE_UNACKED:
            row.escalated_at = None
        session.add(row)
        action = _action_name(event)
        session.add(
            AlarmJournal(
                event_id=event_id,
                alarm=row.alarm,
                at=event.at,
                action=action,
                state=row.state,
                priority=row.priority,
                area=row.area,
                path=row.path,
                value_json=row.value_json,
                limit=row.limit,
                message=row.message,
                by=row.by,
                comment=row.comment,
            )
        )
        payload = alarm_event(row, action, event.at, event_id)
        session.add(Notification(topic="alarms", payload=json.dumps(payload, default=str)))
        return True

    # -- conditions from the edge -----------------------------------------------------------

    def on_conditions(self, session: Session, events: Iterable[ConditionEvent]) -> int:
        """Apply condition events (duplicates by event_id are ignored); returns how many
        changed an alarm. Not committed."""
        events = list(events)
        if not events:
            return 0
        ids = [e.event_id for e in events]
        seen = set(
            session.exec(select(AlarmJournal.event_id).where(col(AlarmJournal.event_id).in_(ids)))
        )
        changed = 0
        for e in events:
            if e.event_id in seen:
                continue
            seen.add(e.event_id)
            row = self._row(session, e.alarm, e.device, e.priority)
            at = ms_to_dt(e.ts)
            event: lc.Event
            if e.condition is Condition.RAISED:
                event = lc.Raised(at, e.value, e.limit)
            elif e.condition is Condition.CLEARED:
                event = lc.Cleared(at, e.value)
            elif e.condition is Condition.SUPPRESSED:
                event = lc.Suppress(at)
            else:
                event = lc.Unsuppress(at)
            was_active = row.condition_active
            if self._apply(session, row, event, e.event_id, e.message or None):
                changed += 1
                if e.condition is Condition.RAISED and not was_active:
                    self._closed_loop(session, row, e)
        return changed

    def _closed_loop(self, session: Session, row: AlarmCurrent, e: ConditionEvent) -> None:
        info = self.catalogue.info(row.alarm)
        qa = info.quality_action
        if qa is None or info.workstation is None:
            return
        start = ms_to_dt(e.since if e.since is not None else e.ts) - timedelta(
            seconds=qa.window_before_s
        )
        hold_affected_window(
            session,
            workstation=info.workstation,
            start=start,
            reason=qa.reason or row.message or f"alarm {row.alarm}",
            source=f"alarm:{row.alarm}@{e.since or e.ts}",
        )

    # -- silence detection -------------------------------------------------------------------

    def on_agent_status(self, session: Session, agent: str, online: bool, at: datetime) -> bool:
        alarm = f"{agent}._edge.offline"
        row = self._row(session, alarm, agent, "high")
        row.area = "_edge"
        row.path = f"_edge/{agent}"
        event: lc.Event = lc.Cleared(at) if online else lc.Raised(at, online)
        message = f"edge agent {agent} {'online' if online else 'offline'}"
        return self._apply_once(session, row, event, f"{alarm}@{at.isoformat()}", message)

    def on_device_status(
        self, session: Session, device: str, state: str, error: str | None, at: datetime
    ) -> bool:
        alarm = f"{device}._status.disconnected"
        row = self._row(session, alarm, device, "high")
        down = state == "disconnected"
        event: lc.Event = lc.Raised(at, state) if down else lc.Cleared(at, state)
        message = f"device {device} {state}" + (f": {error}" if error else "")
        event_id = f"{alarm}@{at.isoformat()}:{state}"
        return self._apply_once(session, row, event, event_id, message)

    def _apply_once(
        self, session: Session, row: AlarmCurrent, event: lc.Event, event_id: str, message: str
    ) -> bool:
        """Statuses are retained and re-sent (a reconnect, a QoS 1 redelivery, twice in one
        batch): one already in the journal, committed or pending, changes nothing."""
        known = session.exec(
            select(AlarmJournal.id).where(AlarmJournal.event_id == event_id)
        ).first()
        if known is not None:
            return False
        return self._apply(session, row, event, event_id, message)

    # -- people and timers --------------------------------------------------------------------

    def act(self, session: Session, alarm: str, event: lc.Event) -> AlarmCurrent:
        """An operator action; LookupError for an unknown alarm, IllegalTransition and
        NotPermitted from the lifecycle. Audited. Not committed."""
        row = _locked(session, alarm)
        if row is None:
            raise LookupError(f"no alarm {alarm!r}")
        self._apply(session, row, event, uuid.uuid4().hex)
        by = getattr(event, "by", None)
        audit.record(
            session,
            by.name if by is not None else audit.system("alarms"),
            f"alarm.{_action_name(event)}",
            alarm,
            {"state": row.state, "comment": row.comment},
        )
        return row

    def unshelve_expired(self, session: Session, now: datetime) -> list[str]:
        rows = session.exec(
            select(AlarmCurrent)
            .where(AlarmCurrent.state == lc.AlarmState.SHELVED.value)
            .where(col(AlarmCurrent.shelved_until).is_not(None))
            .with_for_update(skip_locked=True)  # replicas: one of them unshelves each alarm
        ).all()
        done = []
        for row in rows:
            if lc.shelf_expired(status_of(row), now):
                self._apply(session, row, lc.Unshelve(now), uuid.uuid4().hex)
                done.append(row.alarm)
        return done
