"""The board's snapshot, read from the MES tables (one read-only session): open work orders with
progress and forecast, a tile per workstation, holds and nonconformances waiting."""

from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import case, func
from sqlmodel import Session, and_, col, or_, select

from config.plant import PlantConfig
from mes.alarms.models import AlarmCurrent
from mes.auth.models import Operator
from mes.board.prediction import RATE_WINDOW, OperationLeft, forecast, quantity_left, recent_rate
from mes.core.clock import aware
from mes.core.names import PlantNames
from mes.orders.models import Operation, WorkOrder
from mes.performance import downtime
from mes.performance.calendars import calendar_for
from mes.performance.figures import kpi_values, range_model
from mes.performance.models import WorkUnitCursor
from mes.performance.units import Unit
from mes.production.models import ProductionEvent
from mes.quality.models import HoldRecord, Nonconformance
from mes.reporting.models import StationLogin, StationState

#: the orders the board follows; finished ones stay on it for a day, also once the ERP has
#: acknowledged their final confirmation (CLOSED: seconds after completion with a live ERP)
OPEN_STATES = ("RELEASED", "RUNNING", "SUSPENDED", "HELD")
DONE_STATES = ("COMPLETED", "CLOSED")
DONE_SHOWN_FOR = timedelta(hours=24)
MAX_ORDERS = 300
#: which orders the cap keeps first: running, then held or suspended, then released, then done
_KEEP_FIRST = case(
    (col(WorkOrder.status) == "RUNNING", 0),
    (col(WorkOrder.status).in_(("HELD", "SUSPENDED")), 1),
    (col(WorkOrder.status) == "RELEASED", 2),
    else_=3,
)
ACTIVE_ALARM_STATES = ("active_unacked", "active_acked")


class BoardOrder(BaseModel):
    work_order: str
    product: str
    quantity: int
    unit: str
    state: str
    priority: int
    due_at: datetime | None
    good: int
    scrap: int
    #: good units of the last operation over the quantity (0..1, more if over-reported)
    progress: float
    operation: str | None
    operation_name: str | None
    #: the current operation's names by language (`en`, `zh-CN`; the routing's Chinese name)
    operation_names: dict[str, str] | None = None
    #: good units of the current operation (the first not done)
    operation_good: int | None
    workstation: str | None
    predicted_finish: datetime | None
    at_risk: bool
    overdue: bool
    completed_at: datetime | None


class BoardStop(BaseModel):
    event_id: int
    state: str
    reason: str | None
    #: the reason's names from the reason tree (a display token cannot read the tree)
    reason_en: str | None
    reason_zh_cn: str | None
    since: datetime


class BoardJob(BaseModel):
    work_order: str
    operation: str
    status: str
    good: int
    scrap: int
    quantity: int


class BoardTile(BaseModel):
    station: str
    #: area/line
    line: str
    #: the line's names, en and zh-CN (default: area/line)
    line_names: dict[str, str]
    work_centre: str | None
    #: the work centre's names, en and zh-CN (default: its id); None without a work centre
    work_centre_names: dict[str, str] | None
    #: ISA-95 machine state from the work unit's signals; None for a station without a device
    machine_state: str | None
    machine_since: datetime | None
    online: bool | None
    operators: list[str]
    job: BoardJob | None
    oee_today: float | None
    stop: BoardStop | None
    alarms: int


class BoardHold(BaseModel):
    hold_id: str
    target_kind: str
    target_id: str
    reason: str
    owner: str
    placed_by: str
    placed_at: datetime
    source: str | None


class BoardNonconformance(BaseModel):
    number: str
    at: datetime
    work_order: str
    operation: str
    description: str
    hold_id: str | None


class BoardPlan(BaseModel):
    """The current plan (the Gantt's source): a new one, or its approval, redraws the Gantt."""

    id: int
    created_at: datetime
    approved_by: str | None = None


#: reads the current plan (the planning layer, above the board, provides it)
PlanOf = Callable[[Session], BoardPlan | None]


class Board(BaseModel):
    at: datetime
    orders: list[BoardOrder]
    tiles: list[BoardTile]
    holds: list[BoardHold]
    nonconformances: list[BoardNonconformance]
    plan: BoardPlan | None = None
    #: orders the board follows but left off past `MAX_ORDERS` (finished and released first)
    orders_left_off: int = 0


def _utc(at: datetime | None) -> datetime | None:
    out = aware(at)
    return out.astimezone(UTC) if out is not None else None


def _rates(session: Session, operation_ids: list[int], now: datetime) -> dict[int, float]:
    reports: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    if not operation_ids:
        return {}
    rows = session.exec(
        select(
            ProductionEvent.operation_id,
            ProductionEvent.at,
            ProductionEvent.good,
            ProductionEvent.scrap,
        )
        .where(col(ProductionEvent.operation_id).in_(operation_ids))
        .where(ProductionEvent.at >= now - RATE_WINDOW)
    ).all()
    for op_id, at, good, scrap in rows:
        at_utc = _utc(at)
        if op_id is not None and at_utc is not None and good + scrap > 0:
            reports[op_id].append((at_utc, good + scrap))
    out = {}
    for op_id, found in reports.items():
        rate = recent_rate(found, now)
        if rate is not None:
            out[op_id] = rate
    return out


def _followed(now: datetime) -> Any:
    return or_(
        col(WorkOrder.status).in_(OPEN_STATES),
        and_(
            col(WorkOrder.status).in_(DONE_STATES),
            col(WorkOrder.completed_at) >= now - DONE_SHOWN_FOR,
        ),
    )


def orders_left_off(session: Session, now: datetime, shown: int) -> int:
    if shown < MAX_ORDERS:
        return 0
    total = session.exec(select(func.count()).select_from(WorkOrder).where(_followed(now))).one()
    return max(0, int(total) - shown)


def orders(session: Session, now: datetime, names: PlantNames) -> list[BoardOrder]:
    wos = session.exec(
        select(WorkOrder)
        .where(_followed(now))
        .order_by(
            _KEEP_FIRST,
            col(WorkOrder.priority).desc(),
            col(WorkOrder.due_at),
            col(WorkOrder.id),
        )
        .limit(MAX_ORDERS)
    ).all()
    ids = [wo.id for wo in wos if wo.id is not None]
    ops: dict[int, list[Operation]] = defaultdict(list)
    if ids:
        for op in session.exec(
            select(Operation)
            .where(col(Operation.work_order_id).in_(ids))
            .order_by(col(Operation.seq))
        ):
            ops[op.work_order_id].append(op)
    rates = _rates(session, [o.id for lst in ops.values() for o in lst if o.id is not None], now)
    out = []
    for wo in wos:
        steps = ops.get(wo.id or 0, [])
        last = steps[-1] if steps else None
        current = next((o for o in steps if o.status != "DONE"), None)
        good = last.good if last else 0
        left = [
            OperationLeft(
                quantity_left(wo.quantity, o.good),
                o.cycle_time_s,
                rates.get(o.id or 0),
            )
            for o in steps
        ]
        done_at = _utc(wo.completed_at) if wo.status in DONE_STATES else None
        due = _utc(wo.due_at)
        cast = forecast(now, due, left, done_at)
        out.append(
            BoardOrder(
                work_order=wo.number or str(wo.id),
                product=wo.product,
                quantity=wo.quantity,
                unit=wo.unit,
                state=wo.status,
                priority=wo.priority,
                due_at=due,
                good=good,
                scrap=sum(o.scrap for o in steps),
                progress=round(good / wo.quantity, 4) if wo.quantity else 0.0,
                operation=current.number if current else None,
                operation_name=current.name if current else None,
                operation_names=(
                    names.operation(wo.routing_id, current.number, current.name)
                    if current
                    else None
                ),
                operation_good=current.good if current else None,
                workstation=(current.workstation or current.work_centre) if current else None,
                predicted_finish=cast.predicted_finish,
                at_risk=cast.at_risk,
                overdue=cast.overdue,
                completed_at=done_at,
            )
        )
    return out


def _day_start(session: Session, cfg: PlantConfig, unit: Unit, now: datetime) -> datetime:
    zone = calendar_for(session, cfg, unit.work_centre).versions[-1].zone
    local = now.astimezone(zone)
    return datetime.combine(local.date(), datetime.min.time(), zone).astimezone(UTC)


def _operators(session: Session) -> dict[str, list[str]]:
    """The operators logged in at each station, earliest first (one query for the plant)."""
    out: dict[str, list[str]] = defaultdict(list)
    for station, name in session.exec(
        select(StationLogin.station, Operator.name)
        .join(Operator, col(Operator.badge) == col(StationLogin.badge))
        .order_by(col(StationLogin.logged_in_at))
    ):
        out[station].append(name)
    return out


def _jobs(session: Session) -> dict[str, BoardJob]:
    """The job selected at each station with its progress (two queries for the plant)."""
    selected = {
        st.station: (st.work_order, st.operation)
        for st in session.exec(
            select(StationState).where(col(StationState.work_order).is_not(None))
        )
        if st.work_order and st.operation
    }
    numbers = sorted({wo for wo, _ in selected.values()})
    found: dict[tuple[str, str], BoardJob] = {}
    if numbers:
        for wo, op in session.exec(
            select(WorkOrder, Operation)
            .join(Operation, col(Operation.work_order_id) == col(WorkOrder.id))
            .where(col(WorkOrder.number).in_(numbers))
        ):
            key = (wo.number or "", op.number)
            found[key] = BoardJob(
                work_order=key[0],
                operation=op.number,
                status=op.status,
                good=op.good,
                scrap=op.scrap,
                quantity=wo.quantity,
            )
    return {station: found[key] for station, key in selected.items() if key in found}


def tiles(
    session: Session,
    cfg: PlantConfig,
    units: Mapping[str, Unit],
    now: datetime,
    places: PlantNames,
) -> list[BoardTile]:
    alarms: dict[str, int] = defaultdict(int)
    for where in session.exec(
        select(AlarmCurrent.workstation).where(col(AlarmCurrent.state).in_(ACTIVE_ALARM_STATES))
    ):
        if where:
            alarms[where] += 1
    operators, jobs = _operators(session), _jobs(session)
    names = {r.code: r for g in cfg.performance.reasons for r in g.reasons}
    out = []
    for ws in cfg.workstations:
        line = ws.path.rsplit("/", 1)[0]
        unit = units.get(ws.id)
        cursor = session.get(WorkUnitCursor, ws.id) if unit else None
        oee = None
        if unit is not None:
            model = range_model(session, cfg, [unit], _day_start(session, cfg, unit, now), now)
            oee = kpi_values(model).get("oee")
        stop = downtime.open_event(session, ws.id) if unit else None
        out.append(
            BoardTile(
                station=ws.id,
                line=line,
                line_names=places.line(line),
                work_centre=ws.work_centre,
                work_centre_names=places.work_centre_of(ws.work_centre),
                machine_state=cursor.open_state if cursor else None,
                machine_since=_utc(cursor.open_start) if cursor else None,
                online=cursor.online if cursor else None,
                operators=operators.get(ws.id, []),
                job=jobs.get(ws.id),
                oee_today=oee,
                stop=BoardStop(
                    event_id=stop.id or 0,
                    state=stop.state,
                    reason=stop.reason,
                    reason_en=names[stop.reason].en if stop.reason in names else None,
                    reason_zh_cn=names[stop.reason].zh_cn if stop.reason in names else None,
                    since=_utc(stop.start) or now,
                )
                if stop is not None and stop.end is None
                else None,
                alarms=alarms.get(ws.id, 0),
            )
        )
    return out


def holds(session: Session) -> list[BoardHold]:
    rows = session.exec(
        select(HoldRecord).where(HoldRecord.state == "active").order_by(col(HoldRecord.id))
    ).all()
    return [
        BoardHold(
            hold_id=r.hold_id,
            target_kind=r.target_kind,
            target_id=r.target_id,
            reason=r.reason,
            owner=r.owner,
            placed_by=r.placed_by,
            placed_at=_utc(r.placed_at) or r.placed_at,
            source=r.source,
        )
        for r in rows
    ]


def waiting_nonconformances(session: Session, active_holds: set[str]) -> list[BoardNonconformance]:
    """Nonconformances whose hold still waits for a disposition."""
    if not active_holds:
        return []
    rows = session.exec(
        select(Nonconformance)
        .where(col(Nonconformance.hold_id).in_(sorted(active_holds)))
        .order_by(col(Nonconformance.id))
    ).all()
    return [
        BoardNonconformance(
            number=r.number,
            at=_utc(r.at) or r.at,
            work_order=r.work_order,
            operation=r.operation,
            description=r.description,
            hold_id=r.hold_id,
        )
        for r in rows
    ]


def board(
    session: Session,
    cfg: PlantConfig,
    units: Mapping[str, Unit],
    now: datetime | None = None,
    plan_of: PlanOf | None = None,
) -> Board:
    at = now or datetime.now(UTC)
    on_hold = holds(session)
    places = PlantNames.of(cfg)
    followed = orders(session, at, places)
    return Board(
        at=at,
        orders=followed,
        orders_left_off=orders_left_off(session, at, len(followed)),
        tiles=tiles(session, cfg, units, at, places),
        holds=on_hold,
        nonconformances=waiting_nonconformances(session, {h.hold_id for h in on_hold}),
        plan=plan_of(session) if plan_of is not None else None,
    )
