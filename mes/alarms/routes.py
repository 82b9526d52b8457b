"""Alarm API: current list, history, operator actions, health, live stream (SSE)."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from mes.alarms import lifecycle as lc
from mes.alarms.authority import AlarmRefused, check_scope, check_shelve_minutes
from mes.alarms.health import ActiveAlarm, RaiseRecord, health
from mes.alarms.models import AlarmCurrent, AlarmJournal
from mes.alarms.notify import END_OF_STREAM
from mes.alarms.runtime import AlarmRuntime
from mes.alarms.texts import AlarmTexts
from mes.api.deps import SessionDep, require
from mes.api.problems import Problem, refusals
from mes.api.types import Text
from mes.auth.roles import Permission, Principal
from mes.core.clock import aware

router = APIRouter(prefix="/api/v1/alarms", tags=["alarms"])

Priority = Literal["critical", "high", "medium", "low"]
Reader = Annotated[Principal, require(Permission.READ)]
Acker = Annotated[Principal, require(Permission.ALARM_ACK)]
Admin = Annotated[Principal, require(Permission.ALARM_ADMIN)]


class EventStream(StreamingResponse):
    media_type = "text/event-stream"


def texts_of(request: Request) -> AlarmTexts:
    """The plant file's alarm texts (none while the services start or stop)."""
    services = getattr(request.app.state, "services", None)
    return services.alarms.texts if services is not None else AlarmTexts(())


def runtime_of(request: Request) -> AlarmRuntime:
    services = getattr(request.app.state, "services", None)
    if services is None:
        raise Problem(503, "STARTING", "the alarm service is starting or stopping")
    rt: AlarmRuntime = services.alarms
    return rt


class AlarmView(BaseModel):
    alarm: str
    state: str
    priority: str
    area: str
    path: str
    workstation: str | None
    value: Any
    limit: float | None
    message: str = Field(description="the text the edge (the alarm's template) or the MES wrote")
    message_key: str | None = Field(
        default=None,
        description="the message, language-neutral: a key of the pages' catalogues "
        "(`/i18n/{lang}.json`, `alarm.msg.*`) filled with `message_params`; null: show `message`",
    )
    message_params: dict[str, Any] = Field(default={}, description="the key's {placeholders}")
    condition_active: bool
    active_since: datetime | None
    changed_at: datetime | None
    by: str | None
    comment: str | None
    shelved_until: datetime | None

    @classmethod
    def of(cls, row: AlarmCurrent, texts: AlarmTexts) -> "AlarmView":
        value = json.loads(row.value_json)
        text = texts.of(row.alarm, value, row.limit, row.message, row.condition_active)
        return cls(
            alarm=row.alarm,
            state=row.state,
            priority=row.priority,
            area=row.area,
            path=row.path,
            workstation=row.workstation,
            value=value,
            limit=row.limit,
            message=row.message,
            message_key=text.key if text else None,
            message_params=text.params if text else {},
            condition_active=row.condition_active,
            active_since=aware(row.active_since),
            changed_at=aware(row.changed_at),
            by=row.by,
            comment=row.comment,
            shelved_until=aware(row.shelved_until),
        )


class JournalView(BaseModel):
    id: int
    event_id: str
    alarm: str
    at: datetime
    action: str
    state: str
    priority: str
    area: str
    value: Any
    limit: float | None
    message: str
    by: str | None
    comment: str | None


class AckBody(BaseModel):
    comment: Text = Field(default="", max_length=500)


class ShelveBody(BaseModel):
    minutes: float = Field(gt=0, le=24 * 60, description="auto-unshelve after this long")
    reason: Text = Field(min_length=1, max_length=500)


class ServiceBody(BaseModel):
    reason: Text = Field(min_length=1, max_length=500)


@router.get("", summary="Current alarms, filtered")
def current(
    _: Reader,
    session: SessionDep,
    request: Request,
    area: Annotated[Text | None, Query(max_length=64)] = None,
    priority: Priority | None = None,
    state: Annotated[list[lc.AlarmState] | None, Query()] = None,
    include_normal: bool = False,
) -> list[AlarmView]:
    q = select(AlarmCurrent)
    if area:
        q = q.where(AlarmCurrent.area == area)
    if priority:
        q = q.where(AlarmCurrent.priority == priority)
    if state:
        q = q.where(col(AlarmCurrent.state).in_([s.value for s in state]))
    elif not include_normal:
        q = q.where(AlarmCurrent.state != lc.AlarmState.NORMAL.value)
    rows = session.exec(q.order_by(col(AlarmCurrent.changed_at).desc())).all()
    texts = texts_of(request)
    return [AlarmView.of(r, texts) for r in rows]


@router.get("/history", summary="The alarm journal, newest first")
def history(
    _: Reader,
    session: SessionDep,
    alarm: Annotated[Text | None, Query(max_length=128)] = None,
    area: Annotated[Text | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[JournalView]:
    q = select(AlarmJournal)
    if alarm:
        q = q.where(AlarmJournal.alarm == alarm)
    if area:
        q = q.where(AlarmJournal.area == area)
    if since:
        q = q.where(AlarmJournal.at >= since)
    if until:
        q = q.where(AlarmJournal.at <= until)
    rows = session.exec(q.order_by(col(AlarmJournal.id).desc()).limit(limit)).all()
    return [
        JournalView(
            id=r.id or 0,
            event_id=r.event_id,
            alarm=r.alarm,
            at=aware(r.at) or r.at,
            action=r.action,
            state=r.state,
            priority=r.priority,
            area=r.area,
            value=json.loads(r.value_json),
            limit=r.limit,
            message=r.message,
            by=r.by,
            comment=r.comment,
        )
        for r in rows
    ]


class AreaRateView(BaseModel):
    area: str
    total: int
    per_10_min: float
    peak_10_min: int


class HealthView(BaseModel):
    since: datetime
    until: datetime
    areas: list[AreaRateView]
    floods: list[dict[str, Any]]
    chattering: list[dict[str, Any]]
    stale: list[dict[str, Any]]
    bad_actors: list[dict[str, Any]]


@router.get("/health", summary="ISA-18.2 alarm-system health")
def alarm_health(
    _: Reader, session: SessionDep, hours: Annotated[float, Query(gt=0, le=24 * 31)] = 24
) -> HealthView:
    until = datetime.now(UTC)
    since = until - timedelta(hours=hours)
    raises = [
        RaiseRecord(a, area, aware(at) or at)
        for a, area, at in session.exec(
            select(AlarmJournal.alarm, AlarmJournal.area, AlarmJournal.at)
            .where(AlarmJournal.action == "raised")
            .where(AlarmJournal.at >= since)
        )
    ]
    active = [
        ActiveAlarm(r.alarm, r.area, aware(r.active_since) or until)
        for r in session.exec(
            select(AlarmCurrent).where(col(AlarmCurrent.active_since).is_not(None))
        )
    ]
    h = health(raises, active, since, until)
    return HealthView(
        since=h.since,
        until=h.until,
        areas=[
            AreaRateView(
                area=a.area, total=a.total, per_10_min=a.per_10_min, peak_10_min=a.peak_10_min
            )
            for a in h.areas
        ],
        floods=[
            {"area": f.area, "start": f.start, "end": f.end, "count": f.count} for f in h.floods
        ],
        chattering=[{"alarm": c.alarm, "max_per_minute": c.max_per_minute} for c in h.chattering],
        stale=[{"alarm": s.alarm, "area": s.area, "since": s.since} for s in h.stale],
        bad_actors=[{"alarm": a, "raises": n} for a, n in h.bad_actors],
    )


@router.get(
    "/stream",
    summary="Live alarm and hold events (server-sent events)",
    response_class=EventStream,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
)
async def stream(_: Reader, request: Request) -> StreamingResponse:
    hub = runtime_of(request).hub
    q = hub.subscribe()

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b": connected\n\n"
            while True:
                try:
                    ev = await asyncio.wait_for(q.get(), timeout=15)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if ev is END_OF_STREAM:
                    yield b": server stopping\n\n"
                    return
                data = json.dumps(ev, default=str)
                yield f"event: {ev.get('topic', 'alarms')}\ndata: {data}\n\n".encode()
        finally:
            hub.unsubscribe(q)

    return EventStream(events())


_ACT = refusals("UNKNOWN_ALARM", "FORBIDDEN", "ILLEGAL_TRANSITION", "STARTING")


def _actor(who: Principal) -> lc.Actor:
    return lc.Actor(who.label, frozenset({who.role.value}))


def _act(request: Request, session: Session, alarm: str, event: lc.Event) -> AlarmView:
    rt = runtime_of(request)
    try:
        row = rt.service.act(session, alarm, event)
    except LookupError:
        raise Problem(404, "UNKNOWN_ALARM", f"no alarm {alarm!r}") from None
    except lc.NotPermitted as exc:
        raise Problem(403, "FORBIDDEN", str(exc)) from None
    except lc.IllegalTransition as exc:
        raise Problem(409, "ILLEGAL_TRANSITION", str(exc)) from None
    session.commit()
    session.refresh(row)
    rt.relay.wake()
    return AlarmView.of(row, rt.texts)


def _may_act(session: Session, who: Principal, alarm: str) -> AlarmCurrent:
    """The alarm's row, once `who` may act on it (a station only on its workstation's)."""
    row = session.get(AlarmCurrent, alarm)
    if row is None:
        raise Problem(404, "UNKNOWN_ALARM", f"no alarm {alarm!r}")
    try:
        check_scope(who, alarm, row.workstation)
    except AlarmRefused as exc:
        raise Problem(403, "FORBIDDEN", str(exc)) from None
    return row


@router.post("/{alarm}/ack", summary="Acknowledge (who and a comment)", responses=_ACT)
def acknowledge(
    alarm: Text, body: AckBody, who: Acker, session: SessionDep, request: Request
) -> AlarmView:
    _may_act(session, who, alarm)
    event = lc.Acknowledge(_actor(who), datetime.now(UTC), body.comment)
    return _act(request, session, alarm, event)


@router.post(
    "/{alarm}/shelve",
    summary="Shelve for a while, with a reason (supervisor; priority caps the time)",
    responses={**_ACT, **refusals("SHELVE_TOO_LONG")},
)
def shelve(
    alarm: Text, body: ShelveBody, who: Admin, session: SessionDep, request: Request
) -> AlarmView:
    row = _may_act(session, who, alarm)
    limits = request.app.state.services.cfg.alarm_settings.max_shelve_minutes
    try:
        check_shelve_minutes(alarm, row.priority, body.minutes, limits)
    except AlarmRefused as exc:
        raise Problem(422, "SHELVE_TOO_LONG", str(exc)) from None
    now = datetime.now(UTC)
    event = lc.Shelve(_actor(who), now, now + timedelta(minutes=body.minutes), body.reason)
    return _act(request, session, alarm, event)


@router.post("/{alarm}/unshelve", summary="Unshelve before the time runs out", responses=_ACT)
def unshelve(alarm: Text, who: Acker, session: SessionDep, request: Request) -> AlarmView:
    _may_act(session, who, alarm)
    return _act(request, session, alarm, lc.Unshelve(datetime.now(UTC), _actor(who)))


@router.post("/{alarm}/out-of-service", summary="Take out of service (supervisor)", responses=_ACT)
def out_of_service(
    alarm: Text, body: ServiceBody, who: Admin, session: SessionDep, request: Request
) -> AlarmView:
    event = lc.RemoveFromService(_actor(who), datetime.now(UTC), body.reason)
    return _act(request, session, alarm, event)


@router.post("/{alarm}/return-to-service", summary="Return to service (supervisor)", responses=_ACT)
def return_to_service(alarm: Text, who: Admin, session: SessionDep, request: Request) -> AlarmView:
    return _act(request, session, alarm, lc.ReturnToService(_actor(who), datetime.now(UTC)))
