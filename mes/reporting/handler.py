"""One handler for both front doors (scans and tablet buttons).

`StationHandler.handle(session, request)` runs inside the caller's open transaction (the single
writer's batch). It answers a resend of a known `event_id` with the first answer, ignores a
repeat of the same code within the debounce window, applies the action inside a SAVEPOINT (a
refusal rolls back only this request), and writes the scan log row holding the raw text and the
answer in the same transaction as the effect.
"""

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete
from sqlmodel import Session, col, select

from mes.auth.models import Operator
from mes.auth.roles import Principal
from mes.core import audit, journal
from mes.core.clock import aware
from mes.core.errors import RefusalCode
from mes.masterdata.models import Workstation
from mes.reporting.actions import (
    Action,
    BadgeScan,
    CommandScan,
    InspectionScan,
    JobScan,
    MaterialScan,
    OperatorLogin,
    OperatorLogout,
    Pause,
    QuantityScan,
    ReasonScan,
    Refusal,
    ScrapScan,
    Unrecognised,
    action_name,
    needs_operator,
)
from mes.reporting.batch import scan_batch
from mes.reporting.grammar import Command
from mes.reporting.jobs import Context, JobActions, SelectedJob, summary
from mes.reporting.models import ScanRecord, StationLogin, StationState

log = logging.getLogger(__name__)

_SCAN_LOG = journal.table_of(ScanRecord)

# A batch's reads, built once: the statement and its cache key are reused by every batch.
_KNOWN_EVENTS = select(ScanRecord.event_id).where(
    col(ScanRecord.event_id).in_(bindparam("ids", expanding=True))
)
# FOR UPDATE OF station_state, in one fixed order: replicas (or writer lanes) never update one
# station's state concurrently, and two batches locking overlapping stations cannot deadlock.
_LOCK_STATIONS = (
    select(StationState, Workstation)
    .outerjoin(Workstation, col(Workstation.id) == StationState.station)
    .where(col(StationState.station).in_(bindparam("names", expanding=True)))
    .order_by(col(StationState.station))
    .with_for_update(of=StationState)  # type: ignore[arg-type]
)
_ROSTER = (
    select(StationLogin.station, Operator)
    .join(Operator, col(Operator.badge) == StationLogin.badge)
    .where(col(StationLogin.station).in_(bindparam("names", expanding=True)))
    .order_by(col(StationLogin.logged_in_at))
)


@dataclass(frozen=True)
class StationRequest:
    station: str
    event_id: str
    action: Action
    #: the raw scanned text, or `button:<action>` for a tablet button
    code: str
    actor: Principal
    source: str = "scan"
    scanned_at: datetime | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


class EventIdReused(Exception):
    """A known event_id sent for a different station."""


class NeedsIsolation(Exception):
    """A request was refused in a transaction run without per-request savepoints: its partial
    effects may be in the session, which must be rolled back as a whole."""


class StationHandler:
    def __init__(self, jobs: JobActions, debounce_s: float, tolerance_percent: float = 0.0) -> None:
        self.jobs = jobs
        self.debounce_s = debounce_s
        self.tolerance_percent = tolerance_percent
        #: set by mes.wiring: gives an `RSN:` code to the station's stop; True when it did
        self.downtime_reason: Callable[[Session, str, str, str], bool] | None = None

    def prefetch(
        self, session: Session, event_ids: list[str], stations: Sequence[str] = ()
    ) -> None:
        """Look up a whole batch's event ids in one query (most are new); lock the batch's
        station rows (with their workstations) and read their logged-in operators in one
        query each."""
        batch = scan_batch(session)
        assert batch is not None, "prefetch runs in a scan batch"
        known = session.exec(_KNOWN_EVENTS, params={"ids": event_ids}).all()
        batch.new_events = set(event_ids) - set(known)
        if not stations:
            return
        names = sorted(set(stations))
        # strong references: the identity map alone would let the rows be collected
        locked = batch.locked_states
        for state, workstation in session.exec(_LOCK_STATIONS, params={"names": names}):
            locked[state.station] = state
            if workstation is not None:
                # the production service's work-centre check finds it in the identity map
                batch.workstations.append(workstation)
        self.jobs.prefetch(session, [s.work_order for s in locked.values() if s.work_order])
        roster: dict[str, list[Operator]] = {name: [] for name in names}
        for station, operator in session.exec(_ROSTER, params={"names": names}):
            roster[station].append(operator)
        batch.operators = roster

    def handle(self, session: Session, req: StationRequest, isolate: bool = True) -> Answer:
        """Answer one request inside the caller's transaction. With `isolate` (the default) the
        action runs in its own SAVEPOINT and a refusal rolls back only its effects; without,
        a refusal raises `NeedsIsolation` and the caller must discard the whole transaction."""
        batch = scan_batch(session)
        answered = batch.answered.get(req.event_id) if batch is not None else None
        if answered is not None:  # a second copy in the same batch
            station, first = answered
            if station != req.station:
                raise EventIdReused(
                    f"event_id {req.event_id} was already used at station {station}"
                )
            return first
        prior = None
        if batch is None or req.event_id not in batch.new_events:
            prior = session.exec(
                select(ScanRecord).where(ScanRecord.event_id == req.event_id)
            ).first()
        if prior is not None:
            if prior.station != req.station:
                raise EventIdReused(
                    f"event_id {req.event_id} was already used at station {prior.station}"
                )
            return Answer(prior.status, json.loads(prior.answer))
        state = self._state(session, req.station)
        when = req.scanned_at or req.received_at
        if self._bounced(state, req.code, when):
            age = abs((when - aware(state.last_code_at)).total_seconds())  # type: ignore[operator]
            answer = self._ok(
                session,
                state,
                "scan.ignored",
                f"{_short(req.code)} again after {age:.1f} s: ignored as a double scan",
            )
            return self._record(session, req, answer)
        savepoint = None
        if isolate:
            journal.flush(session)  # earlier requests' rows: kept whatever happens to this one
            savepoint = session.begin_nested()
        try:
            roster: list[list[Operator]] = []
            action, message = self._apply(session, state, req, roster)
            if savepoint is not None:
                journal.flush(session)
                savepoint.commit()
        except Refusal as refusal:
            if savepoint is None:
                raise NeedsIsolation(req.event_id) from refusal
            journal.discard(session)
            savepoint.rollback()
            state = self._state(session, req.station)
            answer = self._refused(session, state, refusal)
        else:
            answer = self._ok(session, state, action, message, roster[0] if roster else None)
            # only a scan that did something arms the debounce: a refused one may be retried
            state.last_code, state.last_code_at = req.code[:200], when
        state.updated_at = req.received_at
        session.add(state)
        return self._record(session, req, answer)

    # -- pieces --------------------------------------------------------------------------

    @staticmethod
    def _state(session: Session, station: str) -> StationState:
        batch = scan_batch(session)
        if batch is not None and station in batch.locked_states:
            # locked by `prefetch` at the start of the batch: read from the identity map (a
            # row expired by a refused request's rollback is read again, still locked)
            state = session.get(StationState, station)
            if state is not None:
                return state
        # FOR UPDATE: replicas (or writer lanes) never update one station's state concurrently
        state = session.exec(
            select(StationState).where(StationState.station == station).with_for_update()
        ).first()
        if state is None:
            state = StationState(station=station)
            session.add(state)
            session.flush()
        return state

    def _bounced(self, state: StationState, code: str, when: datetime) -> bool:
        if self.debounce_s <= 0 or state.last_code != code[:200] or state.last_code_at is None:
            return False
        return abs((when - aware(state.last_code_at)).total_seconds()) < self.debounce_s

    def _apply(
        self,
        session: Session,
        state: StationState,
        req: StationRequest,
        roster: list[list[Operator]],
    ) -> tuple[str, str]:
        """Do the action; `roster` receives the logged-in operators when they did not change."""
        action = req.action
        if isinstance(action, Unrecognised):
            raise Refusal(RefusalCode.UNKNOWN_BARCODE, f"Unknown barcode: {action.why}")
        if isinstance(action, BadgeScan):
            logged = session.get(StationLogin, (req.station, action.badge))
            action = OperatorLogout(action.badge) if logged else OperatorLogin(action.badge)
        if isinstance(action, CommandScan) and action.command is Command.LOGOUT:
            action = OperatorLogout(None)
        if isinstance(action, OperatorLogin):
            self._forget_operators(session, req.station)
            message = self._login(session, req.station, action.badge)
            audit.record(
                session,
                req.actor.label[:64],
                "operator.login",
                f"operator:{action.badge}",
                station=req.station,
            )
            return "operator.login", message
        if isinstance(action, OperatorLogout):
            self._forget_operators(session, req.station)
            message = self._logout(session, req.station, action.badge)
            target = f"operator:{action.badge}" if action.badge else "operator:*"
            audit.record(
                session, req.actor.label[:64], "operator.logout", target, station=req.station
            )
            return "operator.logout", message
        operators = self.operators(session, req.station)
        roster.append(operators)
        if needs_operator(action) and not operators:
            raise Refusal(
                RefusalCode.NO_OPERATOR, f"No operator is logged in at {req.station}: scan a badge"
            )
        badges = [o.badge for o in operators]
        when = req.scanned_at or req.received_at
        ctx = Context(req.station, badges, req.actor, self.tolerance_percent, when)
        if isinstance(action, ReasonScan):
            state.reason = action.code
            given = self.downtime_reason is not None and self.downtime_reason(
                session, req.station, action.code, ctx.operator or req.actor.name
            )
            if given:
                return "reason.set", f"Reason {action.code} given to the stop, and for a pause"
            return "reason.set", f"Reason {action.code} noted for the next pause"
        if isinstance(action, JobScan):
            wo, op = self.jobs.select_job(session, ctx, action.work_order, action.operation)
            state.work_order, state.operation = wo, op
            session.add(state)
            return "job.select", f"Selected {wo} / {op}"
        job = self._job(state, req.station)
        if isinstance(action, Pause | CommandScan) and _is_pause(action):
            reason = action.reason if isinstance(action, Pause) and action.reason else state.reason
            state.reason = None
            return action_name(action), self.jobs.pause(session, ctx, job, reason)
        if isinstance(action, CommandScan):
            run = {
                Command.START: self.jobs.start,
                Command.RESUME: self.jobs.resume,
                Command.COMPLETE: self.jobs.complete,
                Command.UNDO: self.jobs.undo,
            }[action.command]
            return action_name(action), run(session, ctx, job)
        if isinstance(action, QuantityScan):
            return action_name(action), self.jobs.report_good(session, ctx, job, action.quantity)
        if isinstance(action, ScrapScan):
            msg = self.jobs.report_scrap(session, ctx, job, action.quantity, action.reason)
            return action_name(action), msg
        if isinstance(action, MaterialScan):
            return action_name(action), self.jobs.consume(session, ctx, job, action)
        if isinstance(action, InspectionScan):
            return action_name(action), self.jobs.inspect(session, ctx, job, action)
        raise Refusal(RefusalCode.UNKNOWN_BARCODE, "Nothing to do for this request")

    @staticmethod
    def _job(state: StationState, station: str) -> SelectedJob:
        if state.work_order is None or state.operation is None:
            raise Refusal(
                RefusalCode.NO_JOB, f"No job selected at {station}: scan a work order first"
            )
        return SelectedJob(state.work_order, state.operation)

    @staticmethod
    def _login(session: Session, station: str, badge: str) -> str:
        op = session.get(Operator, badge)
        if op is None or not op.active:
            raise Refusal(
                RefusalCode.UNKNOWN_OPERATOR, f"Badge {badge} belongs to no active operator"
            )
        if session.get(StationLogin, (station, badge)) is None:
            session.add(StationLogin(station=station, badge=badge))
        return f"{op.name} logged in at {station}"

    @staticmethod
    def _logout(session: Session, station: str, badge: str | None) -> str:
        stmt = delete(StationLogin).where(StationLogin.station == station)  # type: ignore[arg-type]
        if badge is not None:
            stmt = stmt.where(StationLogin.badge == badge)  # type: ignore[arg-type]
        gone = session.exec(stmt).rowcount  # type: ignore[call-overload]
        if badge is None:
            return f"{gone} operator(s) logged out at {station}"
        if not gone:
            raise Refusal(RefusalCode.NOT_LOGGED_IN, f"Badge {badge} is not logged in at {station}")
        return f"{badge} logged out at {station}"

    @staticmethod
    def operators(session: Session, station: str) -> list[Operator]:
        """The operators logged in at `station`, earliest first (read once per batch)."""
        batch = scan_batch(session)
        if batch is None:
            return StationHandler._operators(session, station)
        cache = batch.operators
        if station not in cache:
            cache[station] = StationHandler._operators(session, station)
        return cache[station]

    @staticmethod
    def _forget_operators(session: Session, station: str) -> None:
        batch = scan_batch(session)
        if batch is not None:
            batch.operators.pop(station, None)

    @staticmethod
    def _operators(session: Session, station: str) -> list[Operator]:
        stmt = (
            select(Operator)
            .join(StationLogin, StationLogin.badge == Operator.badge)  # type: ignore[arg-type]
            .where(StationLogin.station == station)
            .order_by(StationLogin.logged_in_at)  # type: ignore[arg-type]
        )
        return list(session.exec(stmt))

    def snapshot(
        self, session: Session, station: str, operators: list[Operator] | None = None
    ) -> dict[str, Any]:
        """The `station_state` object of an answer."""
        state = session.get(StationState, station)
        if operators is None:
            operators = self.operators(session, station)
        wo = state.work_order if state else None
        op = state.operation if state else None
        body: dict[str, Any] = {
            "station": station,
            "operators": [{"badge": o.badge, "name": o.name} for o in operators],
            "work_order": wo,
            "operation": op,
            "pending_reason": state.reason if state else None,
        }
        if wo is not None and op is not None:
            body["job"] = summary(session, SelectedJob(wo, op))
        return body

    def _ok(
        self,
        session: Session,
        state: StationState,
        action: str,
        message: str,
        operators: list[Operator] | None = None,
    ) -> Answer:
        return Answer(
            200,
            {
                "accepted": True,
                "action": action,
                "message": message,
                "station_state": self.snapshot(session, state.station, operators),
            },
        )

    def _refused(self, session: Session, state: StationState, refusal: Refusal) -> Answer:
        return Answer(
            422,
            {
                "accepted": False,
                "error": {"code": refusal.code, "message": refusal.message},
                "station_state": self.snapshot(session, state.station),
            },
        )

    @staticmethod
    def _record(session: Session, req: StationRequest, answer: Answer) -> Answer:
        error = answer.body.get("error")
        journal.append(
            session,
            _SCAN_LOG,
            {
                "event_id": req.event_id,
                "station": req.station,
                "code": req.code[:4096],
                "source": req.source,
                "actor": req.actor.label[:80],
                "scanned_at": req.scanned_at,
                "received_at": req.received_at,
                "accepted": answer.status == 200,
                "status": answer.status,
                "action": answer.body.get("action"),
                "error_code": error["code"] if error else None,
                "answer": json.dumps(answer.body, default=str),
            },
        )
        # a copy of this event later in the same batch gets this answer (the row is not
        # written until the batch flushes its journal)
        batch = scan_batch(session)
        if batch is not None:
            batch.answered[req.event_id] = (req.station, answer)
        return answer


def _is_pause(action: Action) -> bool:
    return isinstance(action, Pause) or (
        isinstance(action, CommandScan) and action.command is Command.PAUSE
    )


def _short(code: str) -> str:
    return code if len(code) <= 40 else code[:39] + "…"
