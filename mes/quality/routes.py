"""Quality API: holds (place, list, release with disposition), inspection plans and results,
nonconformances."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlmodel import col, select

from mes.api.deps import PrincipalDep, ServicesDep, SessionDep, require
from mes.api.problems import Problem, refusals
from mes.api.types import Text
from mes.auth.roles import Permission, Principal
from mes.quality.holds import Disposition, IllegalTransition, NotPermitted, Target, TargetKind
from mes.quality.holds_service import (
    HoldNotFound,
    TargetFinished,
    place_hold,
    release_hold,
    release_holds_of,
)
from mes.quality.inspection import InspectionError, InspectionPlan
from mes.quality.inspection_service import (
    InspectionRefused,
    PlanNotFound,
    check_scope,
    record_inspection,
    save_plan,
)
from mes.quality.models import HoldRecord, Nonconformance

router = APIRouter(prefix="/api/v1", tags=["quality"])

Reader = Annotated[Principal, require(Permission.READ)]
Placer = Annotated[Principal, require(Permission.HOLD_PLACE)]
Releaser = Annotated[Principal, require(Permission.HOLD_RELEASE)]


def _wake(request: Request) -> None:
    services = getattr(request.app.state, "services", None)
    if services is not None:
        services.alarms.relay.wake()
    # a scrap or rework disposition wrote a confirmation: wake the outbox relay too
    wake_outbox = getattr(getattr(services, "writer", None), "after_commit", None)
    if wake_outbox is not None:
        wake_outbox()


@contextmanager
def _release_problems() -> Iterator[None]:
    try:
        yield
    except HoldNotFound as exc:
        raise Problem(404, "UNKNOWN_HOLD", str(exc)) from None
    except NotPermitted as exc:
        raise Problem(403, "FORBIDDEN", str(exc)) from None
    except IllegalTransition as exc:
        raise Problem(409, "ILLEGAL_TRANSITION", str(exc)) from None


class TargetBody(BaseModel):
    kind: TargetKind
    id: Text = Field(min_length=1, max_length=96, examples=["WO-000123"])


class PlaceBody(BaseModel):
    target: TargetBody
    reason: Text = Field(min_length=1, max_length=500, examples=["burr on edge, check die"])
    owner: Text = Field(default="quality", min_length=1, max_length=64)


class ReleaseBody(BaseModel):
    disposition: Disposition
    comment: Text = Field(default="", max_length=500)
    quantity: int | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        description="units scrapped or sent to rework, confirmed to the ERP "
        "(default: what the held target holds)",
    )


class HoldView(BaseModel):
    hold_id: str
    target: TargetBody
    state: str
    reason: str
    owner: str
    placed_by: str
    placed_at: datetime
    source: str | None
    disposition: str | None
    released_by: str | None
    released_at: datetime | None
    comment: str | None

    @classmethod
    def of(cls, r: HoldRecord) -> "HoldView":
        return cls(
            hold_id=r.hold_id,
            target=TargetBody(kind=TargetKind(r.target_kind), id=r.target_id),
            state=r.state,
            reason=r.reason,
            owner=r.owner,
            placed_by=r.placed_by,
            placed_at=r.placed_at,
            source=r.source,
            disposition=r.disposition,
            released_by=r.released_by,
            released_at=r.released_at,
            comment=r.comment,
        )


@router.get("/holds", summary="Holds, active by default")
def list_holds(
    _: Reader,
    session: SessionDep,
    state: Annotated[Text, Query(max_length=16)] = "active",
    kind: TargetKind | None = None,
    target: Annotated[Text | None, Query(max_length=96)] = None,
    source: Annotated[Text | None, Query(max_length=128, description="the cause")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[HoldView]:
    q = select(HoldRecord)
    if source:
        q = q.where(HoldRecord.source == source)
    if state != "all":
        q = q.where(HoldRecord.state == state)
    if kind:
        q = q.where(HoldRecord.target_kind == kind.value)
    if target:
        q = q.where(HoldRecord.target_id == target)
    rows = session.exec(q.order_by(col(HoldRecord.id).desc()).limit(limit)).all()
    return [HoldView.of(r) for r in rows]


@router.post(
    "/holds",
    status_code=201,
    summary="Place a hold (they stack)",
    responses=refusals("ILLEGAL_TRANSITION"),
)
def place(body: PlaceBody, who: Placer, session: SessionDep, request: Request) -> HoldView:
    target = Target(body.target.kind, body.target.id)
    try:
        row = place_hold(session, target, body.reason, body.owner, who.label)
    except TargetFinished as exc:
        raise Problem(409, "ILLEGAL_TRANSITION", str(exc)) from None
    session.commit()
    session.refresh(row)
    _wake(request)
    return HoldView.of(row)


@router.post(
    "/holds/{hold_id}/release",
    summary="Release with a disposition (quality)",
    responses=refusals("UNKNOWN_HOLD", "ILLEGAL_TRANSITION"),
)
def release(
    hold_id: Text, body: ReleaseBody, who: Releaser, session: SessionDep, request: Request
) -> HoldView:
    with _release_problems():
        row = release_hold(
            session,
            hold_id,
            who.label,
            {who.role.value},
            body.disposition,
            body.comment,
            quantity=body.quantity,
        )
    session.commit()
    session.refresh(row)
    _wake(request)
    return HoldView.of(row)


class ReleaseCauseBody(BaseModel):
    disposition: Disposition
    comment: Text = Field(default="", max_length=500)
    source: Text = Field(
        min_length=1,
        max_length=128,
        description="the cause: the `source` of the holds (an alarm excursion, a nonconformance)",
        examples=["nc:NC-12"],
    )


@router.post(
    "/holds/release-by-source",
    summary="Release every active hold of one cause with one disposition (quality)",
    responses=refusals("UNKNOWN_HOLD", "ILLEGAL_TRANSITION"),
)
def release_cause(
    body: ReleaseCauseBody, who: Releaser, session: SessionDep, request: Request
) -> list[HoldView]:
    with _release_problems():
        rows = release_holds_of(
            session, body.source, who.label, {who.role.value}, body.disposition, body.comment
        )
    session.commit()
    _wake(request)
    return [HoldView.of(r) for r in rows]


@router.put(
    "/inspection-plans/{routing}/{operation}",
    summary="Define the inspection plan of an operation",
    responses=refusals("INVALID_PLAN"),
)
def put_plan(
    routing: Text, operation: Text, body: dict[Text, Any], who: Placer, session: SessionDep
) -> InspectionPlan:
    try:
        plan = InspectionPlan.model_validate({**body, "routing": routing, "operation": operation})
    except ValueError as exc:
        raise Problem(422, "INVALID_PLAN", str(exc)) from None
    save_plan(session, plan, who.label)
    session.commit()
    return plan


class InspectionBody(BaseModel):
    work_order: Text = Field(min_length=1, max_length=16, examples=["WO-000123"])
    operation: Text = Field(pattern=r"^\d{4}$", examples=["0020"])
    lot: Text | None = Field(default=None, max_length=80)
    results: dict[Text, float | bool] = Field(examples=[{"hole_dia": 8.02, "no_burr": True}])


class InspectionView(BaseModel):
    id: int
    passed: bool
    summary: str
    nonconformance: str | None
    hold_id: str | None
    findings: list[dict[str, Any]]


@router.post(
    "/inspections",
    status_code=201,
    summary="Record inspection results",
    responses=refusals(
        "FORBIDDEN",
        "NOT_THIS_STATIONS_JOB",
        "LOT_NOT_IN_JOB",
        "UNKNOWN_LOT",
        "NO_INSPECTION_PLAN",
        "INVALID_RESULTS",
    ),
)
def inspect(
    body: InspectionBody,
    who: PrincipalDep,
    session: SessionDep,
    services: ServicesDep,
    request: Request,
) -> InspectionView:
    if not (who.can(Permission.REPORT) or who.can(Permission.HOLD_PLACE)):
        raise Problem(403, "FORBIDDEN", f"role {who.role.value!r} may not record inspections")
    try:
        selected = services.selected_job(session, who.station) if who.station else (None, None)
        check_scope(session, who.station, selected, body.work_order, body.operation, body.lot)
    except InspectionRefused as exc:
        raise Problem(exc.status, exc.code, str(exc)) from None
    try:
        rec, _outcome, nc = record_inspection(
            session, body.work_order, body.operation, body.lot, body.results, who.label
        )
    except PlanNotFound as exc:
        raise Problem(404, "NO_INSPECTION_PLAN", str(exc)) from None
    except InspectionError as exc:
        raise Problem(422, "INVALID_RESULTS", str(exc)) from None
    session.commit()
    _wake(request)
    return InspectionView(
        id=rec.id or 0,
        passed=rec.passed,
        summary=rec.summary,
        nonconformance=nc.number if nc else None,
        hold_id=nc.hold_id if nc else None,
        findings=json.loads(rec.results_json),
    )


@router.get("/nonconformances", summary="Nonconformance records, newest first")
def nonconformances(
    _: Reader, session: SessionDep, work_order: Annotated[Text | None, Query(max_length=16)] = None
) -> list[dict[str, Any]]:
    q = select(Nonconformance)
    if work_order:
        q = q.where(Nonconformance.work_order == work_order)
    rows = session.exec(q.order_by(col(Nonconformance.id).desc()).limit(500)).all()
    return [r.model_dump() for r in rows]
