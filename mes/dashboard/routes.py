"""Dashboard and delivery report API: the owner's figures as JSON (and the report as CSV and
XLSX), the same endpoints the pages draw and an ERP or a BI tool reads. See docs/dashboard.md."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, Field
from sqlmodel import Session

from mes.api.deps import ServicesDep, SessionDep, require
from mes.api.problems import Problem, refusals
from mes.api.types import ID_MAX, Text
from mes.auth.roles import Permission, Principal
from mes.core.clock import utcnow
from mes.dashboard import delivery, drilldown, export, queries
from mes.dashboard import figures as fg
from mes.dashboard.names import Names
from mes.dashboard.periods import Period, PeriodError, resolve

router = APIRouter(prefix="/api/v1/dashboard", tags=["dashboard"])
reports = APIRouter(prefix="/api/v1/reports", tags=["dashboard"])

Reader = Annotated[Principal, require(Permission.READ)]
PeriodName = Literal["today", "week", "month", "range"]
Lang = Literal["en", "zh-CN"]
BAD_PERIOD = refusals("INVALID_REQUEST")


def period_of(
    services: ServicesDep,
    period: PeriodName = Query(
        default="today",
        description="today, this week (from Monday), this month, all in the plant's time zone "
        "(`mes.shifts.timezone`), or `range` with `start` and `end`",
    ),
    start: AwareDatetime | None = Query(default=None, description="with period=range"),
    end: AwareDatetime | None = Query(default=None, description="with period=range (exclusive)"),
) -> Period:
    try:
        return resolve(period, utcnow(), services.cfg.mes.shifts.timezone, start, end)
    except PeriodError as exc:
        raise Problem(422, "INVALID_REQUEST", str(exc)) from None


PeriodDep = Annotated[Period, Depends(period_of)]


def language(services: ServicesDep, lang: Lang | None = Query(default=None)) -> str:
    """The language of `name`s: `lang`, else the plant's `mes.language`."""
    return lang or services.cfg.mes.language


LangDep = Annotated[str, Depends(language)]


class PeriodView(BaseModel):
    start: datetime
    end: datetime
    timezone: str
    name: str

    @classmethod
    def of(cls, p: Period) -> PeriodView:
        return cls(start=p.start, end=p.end, timezone=p.timezone, name=p.name)


class OnTimeView(BaseModel):
    due: int = Field(description="orders due in the period whose outcome is known")
    on_time: int
    late: int = Field(description="completed late, ended unfinished, or open past due")
    open_overdue: int
    pending: int = Field(description="due later in the period, not completed yet: not counted")
    rate: float | None = Field(description="on_time / due; null when nothing was due")
    definition: str

    @classmethod
    def of(cls, o: fg.OnTime) -> OnTimeView:
        return cls(
            due=o.due,
            on_time=o.on_time,
            late=o.late,
            open_overdue=o.open_overdue,
            pending=o.pending,
            rate=o.rate,
            definition=fg.ON_TIME_DEFINITION,
        )


class OutputView(BaseModel):
    planned: float
    good: float
    scrap: float
    ratio: float | None


class WipView(BaseModel):
    operation: str = Field(description="the routing operation's number")
    name: str = Field(description="in the language asked for (`lang`)")
    names: dict[str, str] = Field(description="en and zh-CN")
    work_orders: int
    quantity: float


class ParetoView(BaseModel):
    key: str
    name: str
    names: dict[str, str] = Field(description="en and zh-CN")
    quantity: float
    share: float
    cumulative: float


class OeeView(BaseModel):
    line: str = Field(description="area/line")
    name: str = Field(description="the line's name in the language asked for (`lang`)")
    names: dict[str, str] = Field(description="en and zh-CN (default: the line's area/line)")
    day: str = Field(description="YYYY-MM-DD in the plant's time zone")
    oee: float | None
    availability: float | None
    effectiveness: float | None
    quality: float | None


class LeadTimeView(BaseModel):
    orders: int
    mean_h: float | None
    p50_h: float | None
    p90_h: float | None


class DowntimeView(BaseModel):
    reason: str | None
    name: str
    names: dict[str, str]
    seconds: float
    events: int


class Summary(BaseModel):
    period: PeriodView
    on_time: OnTimeView
    output: OutputView
    wip: list[WipView]
    scrap_by_reason: list[ParetoView]
    scrap_by_product: list[ParetoView]
    oee_trend: list[OeeView]
    lead_time: LeadTimeView
    downtime_top: list[DowntimeView]
    alarms_open: int
    holds_open: int


def _output_view(o: queries.Output) -> OutputView:
    return OutputView(planned=o.planned, good=o.good, scrap=o.scrap, ratio=o.ratio)


def _output(session: Session, p: Period) -> OutputView:
    return _output_view(queries.output(session, p))


def _wip(session: Session, names: Names, lang: str) -> list[WipView]:
    out = []
    for w in queries.wip(session):
        label = names.operation(w.routing, w.operation, w.name)
        out.append(
            WipView(
                operation=w.operation,
                name=label[lang],
                names=label,
                work_orders=w.work_orders,
                quantity=w.quantity,
            )
        )
    return out


def _pareto(rows: list[fg.ParetoRow], by: str, names: Names, lang: str) -> list[ParetoView]:
    out = []
    for r in rows:
        label = names.product(r.key) if by == "product" else names.scrap_reason(r.key)
        out.append(
            ParetoView(
                key=r.key,
                name=label[lang],
                names=label,
                quantity=r.quantity,
                share=r.share,
                cumulative=r.cumulative,
            )
        )
    return out


def _scrap(session: Session, p: Period, by: str, names: Names, lang: str) -> list[ParetoView]:
    return _pareto(queries.scrap_by(session, p, by), by, names, lang)


def _oee(session: Session, p: Period, services: Any, names: Names, lang: str) -> list[OeeView]:
    """The stored days; the plant day of now up to now instead of its stored part."""
    today = queries.oee_so_far(
        session, services.cfg, list(services.performance.units.values()), p, utcnow()
    )
    live = {(d.line, d.day) for d in today}
    days = [d for d in queries.oee_trend(session, p) if (d.line, d.day) not in live]
    return [
        OeeView(
            line=d.line,
            name=label[lang],
            names=label,
            day=d.day,
            oee=d.kpis.oee,
            availability=d.kpis.availability,
            effectiveness=d.kpis.effectiveness,
            quality=d.kpis.quality_ratio,
        )
        for d in sorted([*days, *today], key=lambda d: (d.line, d.day))
        for label in [names.line(d.line)]
    ]


def _lead(session: Session, p: Period) -> LeadTimeView:
    s = fg.lead_time_stats(queries.lead_times(session, p))
    return LeadTimeView(orders=s.orders, mean_h=s.mean_h, p50_h=s.p50_h, p90_h=s.p90_h)


def _downtime(session: Session, p: Period, names: Names, lang: str) -> list[DowntimeView]:
    out = []
    for r in queries.downtime_top(session, p, utcnow()):
        label = names.reason(r.reason)
        out.append(
            DowntimeView(
                reason=r.reason, name=label[lang], names=label, seconds=r.seconds, events=r.events
            )
        )
    return out


@router.get("/summary", summary="Every figure of the owner's page", responses=BAD_PERIOD)
def summary(
    _: Reader, session: SessionDep, services: ServicesDep, p: PeriodDep, lang: LangDep
) -> Summary:
    """One pass over the orders due (on-time rate and plan) and one over the period's
    production events (output and scrap by reason) serve several figures each."""
    names = Names.of(services.cfg)
    due = queries.due(session, p, utcnow())
    made = queries.made(session, p)
    return Summary(
        period=PeriodView.of(p),
        on_time=OnTimeView.of(due.on_time),
        output=_output_view(queries.output_of(due.planned, made)),
        wip=_wip(session, names, lang),
        scrap_by_reason=_pareto(queries.scrap_by_reason(made), "reason", names, lang),
        scrap_by_product=_scrap(session, p, "product", names, lang),
        oee_trend=_oee(session, p, services, names, lang),
        lead_time=_lead(session, p),
        downtime_top=_downtime(session, p, names, lang),
        alarms_open=queries.alarms_open(session),
        holds_open=queries.holds_open(session),
    )


@router.get("/on-time", summary="On-time delivery rate", responses=BAD_PERIOD)
def on_time(_: Reader, session: SessionDep, p: PeriodDep) -> OnTimeView:
    return OnTimeView.of(queries.on_time(session, p, utcnow()))


@router.get("/output", summary="Output against plan", responses=BAD_PERIOD)
def output(_: Reader, session: SessionDep, p: PeriodDep) -> OutputView:
    return _output(session, p)


@router.get("/wip", summary="Work in progress by operation (now)", responses=BAD_PERIOD)
def wip(
    _: Reader, session: SessionDep, services: ServicesDep, p: PeriodDep, lang: LangDep
) -> list[WipView]:
    return _wip(session, Names.of(services.cfg), lang)


@router.get("/scrap", summary="Scrap Pareto by reason or by product", responses=BAD_PERIOD)
def scrap(
    _: Reader,
    session: SessionDep,
    services: ServicesDep,
    p: PeriodDep,
    lang: LangDep,
    by: Literal["reason", "product"] = "reason",
) -> list[ParetoView]:
    return _scrap(session, p, by, Names.of(services.cfg), lang)


@router.get("/oee-trend", summary="OEE per line and plant day", responses=BAD_PERIOD)
def oee_trend(
    _: Reader, session: SessionDep, services: ServicesDep, p: PeriodDep, lang: LangDep
) -> list[OeeView]:
    return _oee(session, p, services, Names.of(services.cfg), lang)


@router.get("/lead-time", summary="Lead time of the orders completed", responses=BAD_PERIOD)
def lead_time(_: Reader, session: SessionDep, p: PeriodDep) -> LeadTimeView:
    return _lead(session, p)


@router.get("/downtime-top", summary="Top downtime reasons", responses=BAD_PERIOD)
def downtime_top(
    _: Reader, session: SessionDep, services: ServicesDep, p: PeriodDep, lang: LangDep
) -> list[DowntimeView]:
    return _downtime(session, p, Names.of(services.cfg), lang)


@router.get("/orders", summary="The work orders behind a figure", responses=BAD_PERIOD)
def orders(
    _: Reader,
    session: SessionDep,
    p: PeriodDep,
    figure: drilldown.Figure,
    operation: Text | None = Query(default=None, description="wip: the operation number"),
    reason: Text | None = Query(default=None, description="scrap: the reason code"),
    product: Text | None = Query(default=None, description="any figure: the product"),
    limit: int = Query(default=1000, ge=1, le=min(10_000, ID_MAX)),
) -> list[drilldown.OrderRow]:
    filters = drilldown.Filters(operation, reason, product)
    rows = drilldown.orders(session, figure, p, utcnow(), filters, limit)
    return rows


FILE_TYPES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            export.CSV_TYPE: {"schema": {"type": "string"}},
            export.XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
        }
    }
}


@reports.get(
    "/delivery",
    summary="Order delivery efficiency report (JSON, CSV or XLSX)",
    response_model=list[delivery.DeliveryRow],
    responses={**BAD_PERIOD, **FILE_TYPES},
)
def delivery_report(
    _: Reader,
    session: SessionDep,
    p: PeriodDep,
    format: Literal["json", "csv", "xlsx"] = "json",
) -> Any:
    rows = delivery.report(session, p, utcnow())
    if format == "json":
        return rows
    stem = f"delivery-{p.local_day(p.start)}-{p.local_day(p.end)}"
    if format == "csv":
        body, kind = export.to_csv(rows, p.timezone), export.CSV_TYPE
    else:
        body, kind = export.to_xlsx(rows, p.timezone), export.XLSX_TYPE
    disposition = f'attachment; filename="{stem}.{format}"'
    return Response(body, media_type=kind, headers={"Content-Disposition": disposition})


@reports.get(
    "/delivery/{work_order}",
    summary="The delivery efficiency of one work order",
    responses=refusals("WORK_ORDER_NOT_FOUND"),
)
def delivery_of(work_order: Text, _: Reader, session: SessionDep) -> delivery.DeliveryRow:
    row = delivery.one(session, work_order, utcnow())
    if row is None:
        raise Problem(404, "WORK_ORDER_NOT_FOUND", f"no work order {work_order!r}")
    return row
