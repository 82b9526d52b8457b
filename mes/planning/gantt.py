"""The board's Gantt: the current plan by workstation, with what the board needs to draw it and
to let a supervisor move a bar (the workstations able to run each operation), the supervisors'
locks, and the times a workstation cannot work (closed time of its calendar, an open
breakdown until its expected return), and what the plan could not plan and why. Read-only;
`GET /api/v1/schedule/gantt`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from config.plant import PlantConfig
from mes.core.clock import aware
from mes.core.names import PlantNames, both
from mes.performance.calendar import shift_instances
from mes.performance.calendars import calendar_for
from mes.performance.models import DowntimeEvent
from mes.performance.states import MachineState
from mes.planning import eligible, store
from mes.planning.models import PlanRecord, SlotLockRecord
from mes.planning.problem import breakdowns
from mes.scheduling import Assignment, Notice, PlanningError

#: the Gantt's windows cover from this long before now ...
BEFORE_NOW = timedelta(hours=1)
#: ... to the plan's last end, at least this long after now (the page's longest zoom), at most
#: `MAX_AHEAD`
MIN_AHEAD = timedelta(days=3)
MAX_AHEAD = timedelta(days=14)


class GanttStation(BaseModel):
    id: str
    name: str | None
    #: its names, en and zh-CN (a missing Chinese name is the English one); None without a name
    names: dict[str, str] | None = None
    work_centre: str | None
    #: the work centre's names, en and zh-CN (default: its id); None without a work centre
    work_centre_names: dict[str, str] | None = None


class SlotOut(BaseModel):
    """An operation's slot in a plan."""

    work_order: str
    operation: str
    workstation: str
    setup_start: datetime
    start: datetime
    end: datetime
    pin: str = Field(description="planned | running | frozen | locked")
    late: bool = Field(description="its work order finishes after its due date")

    @staticmethod
    def fields(a: Assignment, late: set[str]) -> dict[str, Any]:
        return {
            "work_order": a.order,
            "operation": a.operation,
            "workstation": a.workstation,
            "setup_start": a.setup_start,
            "start": a.start,
            "end": a.end,
            "pin": str(a.pin),
            "late": a.order in late,
        }


class NoticeOut(BaseModel):
    """A planner's notice: the English text (as in `notices`) and the same language-neutrally."""

    message: str = Field(description="the English text, as in `notices`")
    message_key: str | None = Field(
        description="a key of the pages' catalogues (`/i18n/{lang}.json`, `plan.notice.*`) "
        "filled with `message_params`; null (a plan stored before there were keys): show "
        "`message`"
    )
    message_params: dict[str, str | int | float] = Field(
        description="the key's {placeholders}: order, operation, workstation, at (ISO time), "
        "predecessor"
    )

    @classmethod
    def of(cls, n: Notice) -> NoticeOut:
        return cls(message=n.text, message_key=n.key, message_params=n.params)


class ErrorOut(BaseModel):
    """An order (or one of its operations) the planner could not plan, and why."""

    work_order: str
    operation: str | None
    reason: str
    reason_key: str | None = Field(
        default=None,
        description="the reason, language-neutral: a key of the pages' catalogues "
        "(`plan.error.*`) filled with `reason_params`; null: show `reason`",
    )
    reason_params: dict[str, str | int | float] = Field(
        default={}, description="the key's {placeholders}"
    )

    @classmethod
    def of(cls, e: PlanningError) -> ErrorOut:
        return cls(
            work_order=e.order,
            operation=e.operation,
            reason=e.reason,
            reason_key=e.key,
            reason_params=e.params,
        )


class GanttBar(SlotOut):
    name: str
    name_zh_cn: str | None
    product: str
    due_at: datetime | None
    priority: int
    locked_by: str | None
    eligible: list[str] = Field(description="the workstations able to run it (where it may go)")


class GanttWindow(BaseModel):
    workstation: str
    start: datetime
    end: datetime
    kind: str = Field(description="closed (outside shifts, breaks, holidays) | breakdown")


class GanttPlan(BaseModel):
    id: int
    created_at: datetime
    trigger: str
    method: str
    approved_by: str | None


class Gantt(BaseModel):
    now: datetime
    start: datetime = Field(description="the span the windows cover")
    end: datetime
    plan_end: datetime | None = Field(description="the end of the plan's last operation")
    plan: GanttPlan | None = Field(description="None before the first plan")
    workstations: list[GanttStation]
    bars: list[GanttBar]
    windows: list[GanttWindow]
    notices: list[str]
    notice_items: list[NoticeOut] = Field(
        description="`notices` with their catalogue keys (an extension), in the same order"
    )
    errors: list[ErrorOut] = Field(
        description="what the plan could not plan, and why (an extension): these orders or "
        "operations have no bars",
    )


def gantt(session: Session, cfg: PlantConfig, now: datetime) -> Gantt:
    record = store.current(session)
    bars = _bars(session, cfg, record) if record is not None else []
    start = now - BEFORE_NOW
    last = max((b.end for b in bars), default=None)
    end = min(max(last or now, now + MIN_AHEAD), now + MAX_AHEAD)
    plan = None
    notices: tuple[Notice, ...] = ()
    errors: tuple[PlanningError, ...] = ()
    if record is not None and record.id is not None:
        plan = GanttPlan(
            id=record.id,
            created_at=aware(record.created_at),
            trigger=record.trigger,
            method=record.method,
            approved_by=record.approved_by,
        )
        stored = store.as_plan(record, [])
        notices, errors = stored.notices, stored.errors
    places = PlantNames.of(cfg)
    return Gantt(
        now=now,
        start=start,
        end=end,
        plan_end=last,
        plan=plan,
        workstations=[
            GanttStation(
                id=w.id,
                name=w.name,
                names=both(w.name, w.name_zh_cn) if w.name else None,
                work_centre=w.work_centre,
                work_centre_names=places.work_centre_of(w.work_centre),
            )
            for w in cfg.workstations
        ],
        bars=bars,
        windows=closed_windows(session, cfg, start, end) + breakdown_windows(session, cfg, now),
        notices=[n.text for n in notices],
        notice_items=[NoticeOut.of(n) for n in notices],
        errors=[ErrorOut.of(e) for e in errors],
    )


def _bars(session: Session, cfg: PlantConfig, record: PlanRecord) -> list[GanttBar]:
    plan = store.as_plan(record, store.slots_of(session, record.id))
    late = {o.order for o in plan.outcomes if not o.on_time}
    rows = eligible.operations(session, {a.order for a in plan.assignments})
    routing = eligible.steps(cfg)
    locks = {(r.work_order, r.operation): r.locked_by for r in session.exec(select(SlotLockRecord))}
    out = []
    for a in plan.assignments:
        op = rows.get((a.order, a.operation))
        if op is None:  # the order was replaced since the plan was made
            continue
        step = routing.get((op.routing_id, op.number))
        out.append(
            GanttBar(
                **SlotOut.fields(a, late),
                name=op.name,
                name_zh_cn=step.name_zh_cn if step is not None else None,
                product=op.product,
                due_at=aware(op.due_at),
                priority=op.priority,
                locked_by=locks.get((a.order, a.operation)),
                eligible=eligible.eligible(cfg, op, routing),
            )
        )
    return out


def closed_windows(
    session: Session, cfg: PlantConfig, start: datetime, end: datetime
) -> list[GanttWindow]:
    """Each workstation's closed time in [start, end): outside its shifts and in their breaks
    (worked out once per work centre: its workstations share the calendar)."""
    by_centre: dict[str | None, list[tuple[datetime, datetime]]] = {}
    out = []
    for w in cfg.workstations:
        if w.work_centre not in by_centre:
            spans = []
            cursor = start
            calendar = calendar_for(session, cfg, w.work_centre)
            for inst in shift_instances(calendar, start, end):
                spans += [(lo, hi) for lo, hi in ((cursor, inst.start), *inst.breaks) if lo < hi]
                cursor = max(cursor, inst.end)
            if cursor < end:
                spans.append((cursor, end))
            by_centre[w.work_centre] = spans
        out += [
            GanttWindow(workstation=w.id, start=lo, end=hi, kind="closed")
            for lo, hi in by_centre[w.work_centre]
        ]
    return out


def breakdown_windows(session: Session, cfg: PlantConfig, now: datetime) -> list[GanttWindow]:
    """Open breakdowns, from their start to the return the planner expects."""
    since: dict[str, datetime] = {}
    for e in session.exec(
        select(DowntimeEvent)
        .where(col(DowntimeEvent.end).is_(None))
        .where(col(DowntimeEvent.state) == MachineState.FAULT)
    ):
        at = aware(e.start)
        since[e.work_unit] = min(at, since.get(e.work_unit, at))
    return [
        GanttWindow(
            workstation=b.workstation,
            start=since.get(b.workstation, now),
            end=b.expected_return,
            kind="breakdown",
        )
        for b in breakdowns(session, cfg, now)
    ]
