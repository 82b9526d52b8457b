"""Plans in the database: store one with its diff (and publish it), read the current one back
as the planner's `Plan` (the next plan's warm start), keep the history bounded."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, delete, select

from mes.board.snapshot import BoardPlan
from mes.core.clock import aware
from mes.orders.models import WorkOrder
from mes.outbox.store import enqueue, new_message_id
from mes.planning.diff import SlotView, plan_diff
from mes.planning.models import PlanRecord, PlanSlot
from mes.planning.publish import SCHEDULE, schedule_payload
from mes.scheduling import Assignment, Notice, OrderOutcome, Pin, Plan, PlanningError


def current(session: Session) -> PlanRecord | None:
    return session.exec(select(PlanRecord).order_by(col(PlanRecord.id).desc()).limit(1)).first()


def board_plan(session: Session) -> BoardPlan | None:
    """The current plan as the board names it (its Gantt follows the id)."""
    row = session.exec(
        select(PlanRecord.id, PlanRecord.created_at, PlanRecord.approved_by)
        .order_by(col(PlanRecord.id).desc())
        .limit(1)
    ).first()
    if row is None or row[0] is None:
        return None
    return BoardPlan(id=row[0], created_at=aware(row[1]), approved_by=row[2])


def slots_of(session: Session, plan_id: int | None) -> list[PlanSlot]:
    if plan_id is None:
        return []
    return list(
        session.exec(
            select(PlanSlot).where(PlanSlot.plan_id == plan_id).order_by(col(PlanSlot.start))
        ).all()
    )


def as_plan(record: PlanRecord, slots: Sequence[PlanSlot]) -> Plan:
    """The stored plan as the planner answered it."""
    body = json.loads(record.body_json)
    return Plan(
        tuple(
            Assignment(
                s.work_order,
                s.operation,
                s.workstation,
                aware(s.setup_start),
                aware(s.start),
                aware(s.end),
                Pin(s.pin),
            )
            for s in slots
        ),
        tuple(
            OrderOutcome(
                o["order"],
                datetime.fromisoformat(o["completion"]),
                datetime.fromisoformat(o["due"]),
                o["tardiness_s"],
                o["weight"],
            )
            for o in body["outcomes"]
        ),
        tuple(
            PlanningError(
                e["order"],
                e["operation"],
                e["reason"],
                e.get("reason_key"),
                e.get("reason_params") or {},
            )
            for e in body["errors"]
        ),
        record.method,
        record.fallback,
        record.note,
        record.solver_status,
        _notices(body),
    )


def _notices(body: dict[str, Any]) -> tuple[Notice, ...]:
    """The notices with their keys; a plan stored before there were keys (no `notice_items`)
    has its English texts only."""
    texts: list[str] = body["notices"]
    items: list[dict[str, Any]] | None = body.get("notice_items")
    if items is None or len(items) != len(texts):
        return tuple(Notice(t) for t in texts)
    return tuple(
        Notice(t, i.get("message_key"), i.get("message_params") or {})
        for t, i in zip(texts, items, strict=True)
    )


def _body(plan: Plan) -> dict[str, Any]:
    return {
        "outcomes": [
            {
                "order": o.order,
                "completion": o.completion.isoformat(),
                "due": o.due.isoformat(),
                "tardiness_s": o.tardiness_s,
                "weight": o.weight,
            }
            for o in plan.outcomes
        ],
        "errors": [
            {
                "order": e.order,
                "operation": e.operation,
                "reason": e.reason,
                "reason_key": e.key,
                "reason_params": e.params,
            }
            for e in plan.errors
        ],
        "notices": [n.text for n in plan.notices],
        "notice_items": [{"message_key": n.key, "message_params": n.params} for n in plan.notices],
    }


def _view(slots: Sequence[PlanSlot] | Sequence[Assignment]) -> list[SlotView]:
    out = []
    for s in slots:
        if isinstance(s, PlanSlot):
            start, end = aware(s.start), aware(s.end)
            running = s.pin == Pin.RUNNING
            out.append(SlotView(s.work_order, s.operation, s.workstation, start, end, running))
        else:
            running = s.pin == Pin.RUNNING
            out.append(SlotView(s.order, s.operation, s.workstation, s.start, s.end, running))
    return out


def save(
    session: Session,
    plan: Plan,
    *,
    now: datetime,
    trigger: str,
    fingerprint: str,
    keep: int,
) -> PlanRecord:
    """Store `plan` as the current plan with its diff against the one before, and put it in the
    outbox for `_mes/schedule`. The caller commits."""
    before = current(session)
    diff = plan_diff(
        _view(slots_of(session, before.id if before else None)), _view(plan.assignments)
    )
    record = PlanRecord(
        planned_from=now,
        trigger=trigger[:200],
        method=plan.method,
        fallback=plan.fallback,
        note=plan.note,
        solver_status=plan.solver_status[:200],
        weighted_tardiness_s=plan.weighted_tardiness,
        on_time_rate=plan.on_time_rate,
        fingerprint=fingerprint,
        body_json=json.dumps(_body(plan)),
        diff_json=json.dumps({"previous": before.id if before else None, **diff}),
    )
    session.add(record)
    session.flush()
    assert record.id is not None
    session.add_all(
        PlanSlot(
            plan_id=record.id,
            work_order=a.order,
            operation=a.operation,
            workstation=a.workstation,
            setup_start=a.setup_start,
            start=a.start,
            end=a.end,
            pin=str(a.pin),
        )
        for a in plan.assignments
    )
    publish(session, record, plan)
    _prune(session, record.id, keep)
    return record


def publish(session: Session, record: PlanRecord, plan: Plan) -> None:
    assert record.id is not None
    numbers = {a.order for a in plan.assignments} | {o.order for o in plan.outcomes}
    erp_ids = {
        n: e
        for n, e in session.exec(
            select(WorkOrder.number, WorkOrder.erp_id).where(col(WorkOrder.number).in_(numbers))
        ).all()
        if n is not None
    }
    message_id = new_message_id()
    enqueue(
        session,
        SCHEDULE,
        schedule_payload(record.id, message_id, plan, erp_ids, record.approved_by is not None),
        message_id=message_id,
    )


def _prune(session: Session, newest: int, keep: int) -> None:
    oldest_kept = newest - keep + 1
    if oldest_kept <= 1:
        return
    session.exec(delete(PlanSlot).where(col(PlanSlot.plan_id) < oldest_kept))
    session.exec(delete(PlanRecord).where(col(PlanRecord.id) < oldest_kept))
