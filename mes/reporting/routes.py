"""Two front doors, one handler: `POST /api/v1/scans` and the tablet button endpoints."""

import json
import math
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import select

from mes.api.deps import (
    PrincipalDep,
    ServicesDep,
    SessionDep,
    require,
    services_of,
    station_for,
)
from mes.api.problems import PROBLEM_CONTENT, Problem, refusals
from mes.api.types import RowId, Text
from mes.auth.roles import Permission, Principal
from mes.core.errors import Refusal
from mes.i18n import negotiate, refusal
from mes.reporting.actions import (
    Action,
    CommandScan,
    InspectionScan,
    JobScan,
    MaterialScan,
    OperatorLogin,
    OperatorLogout,
    Pause,
    QuantityScan,
    ScrapScan,
)
from mes.reporting.grammar import Command, parse_scan, without_pin
from mes.reporting.handler import EventIdReused, StationRequest
from mes.reporting.models import ScanRecord
from mes.reporting.schemas import (
    BadgeIn,
    ButtonIn,
    InspectionIn,
    JobIn,
    LogoutIn,
    MaterialIn,
    PauseIn,
    QuantityIn,
    ScanAccepted,
    ScanIn,
    ScanLogEntry,
    ScanRefused,
    ScrapIn,
    StationStateOut,
)
from mes.reporting.writer import WriterStopped

router = APIRouter(prefix="/api/v1", tags=["stations"])

_PROBLEM = PROBLEM_CONTENT
STATION_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": ScanAccepted, "description": "done (or ignored as a double scan)"},
    401: {"description": "no or bad token", "content": _PROBLEM},
    403: {"description": "not allowed for this role or station", "content": _PROBLEM},
    404: {"description": "unknown station", "content": _PROBLEM},
    409: {"description": "event_id already used at another station", "content": _PROBLEM},
    422: {
        "model": ScanRefused,
        "description": "understood but refused (see error.code), or an invalid request "
        "(application/problem+json)",
    },
    503: {"description": "not stored: resend with the same event_id", "content": _PROBLEM},
}


async def _run(services: Any, request: StationRequest, http: Request) -> JSONResponse:
    language = answer_language(services, request.station, http)
    said = {"Content-Language": language, "Vary": "Accept-Language"}
    try:
        answer = await services.writer.process(request)
    except EventIdReused as exc:
        text = refusal("EVENT_ID_REUSED", language)
        raise Problem(409, "EVENT_ID_REUSED", str(exc), headers=said, text=text) from exc
    except WriterStopped as exc:
        text = refusal("NOT_STORED", language)
        raise Problem(
            503, "NOT_STORED", str(exc), headers={"Retry-After": "1", **said}, text=text
        ) from exc
    return JSONResponse(with_text(answer.body, language), status_code=answer.status, headers=said)


@router.post(
    "/scans",
    responses=STATION_RESPONSES,
    response_model=ScanAccepted,
    summary="Report a scan from a workstation (docs/contracts.md section 8)",
)
async def post_scan(
    body: ScanIn, http: Request, who: Annotated[Principal, require(Permission.REPORT)]
) -> JSONResponse:
    services = services_of(http)
    station = station_for(who, body.station, services)
    request = StationRequest(
        station=station,
        event_id=body.event_id,
        action=(intent := parse_scan(body.code, services.prefixes)),
        code=loggable(without_pin(body.code, intent)),
        actor=who,
        source="scan",
        scanned_at=body.scanned_at,
    )
    return await _run(services, request, http)


def answer_language(services: Any, station: str, http: Request) -> str:
    """Extension: refusal texts in `Accept-Language`, else the station's configured language."""
    ws = next((w for w in services.cfg.workstations if w.id == station), None)
    return negotiate(http.headers.get("accept-language"), ws.language if ws else None)


def with_text(body: dict[str, Any], language: str) -> dict[str, Any]:
    """Extension of the scan answer: a refusal's `error.text` says what to do next, in the
    answer's language; `error.code` and `error.message` stay as the contract has them."""
    error = body.get("error")
    if not isinstance(error, dict) or "code" not in error:
        return body
    text = refusal(str(error["code"]), language, str(error.get("message") or ""))
    return {**body, "error": {**error, "text": text}}


def loggable(code: str) -> str:
    """The raw text as the scan log keeps it: NUL (refused by PostgreSQL text) made visible."""
    return code.strip("\r\n\t ").replace("\x00", "\\x00") or "(blank)"


async def _button(
    services: Any,
    who: Principal,
    station: str,
    body: ButtonIn,
    action: Action,
    code: str,
    http: Request,
) -> JSONResponse:
    station = station_for(who, station, services)
    request = StationRequest(
        station=station,
        event_id=body.event_id or f"btn-{uuid.uuid4()}",
        action=action,
        code=f"button:{code}",
        actor=who,
        source="button",
        scanned_at=body.pressed_at,
    )
    return await _run(services, request, http)


Reporter = Annotated[Principal, require(Permission.REPORT)]
_BTN: dict[str, Any] = {"responses": STATION_RESPONSES, "response_model": ScanAccepted}


@router.post("/stations/{station}/operators/login", summary="Log an operator in", **_BTN)
async def login_operator(
    station: Text, body: BadgeIn, services: ServicesDep, who: Reporter, http: Request
) -> JSONResponse:
    action = OperatorLogin(body.badge, pin=body.pin)
    return await _button(services, who, station, body, action, f"login:{body.badge}", http)


@router.post("/stations/{station}/operators/logout", summary="Log one or all out", **_BTN)
async def logout_operator(
    station: Text, body: LogoutIn, services: ServicesDep, who: Reporter, http: Request
) -> JSONResponse:
    action = OperatorLogout(body.badge)
    return await _button(services, who, station, body, action, f"logout:{body.badge or '*'}", http)


@router.post("/stations/{station}/job", summary="Select a work order (and operation)", **_BTN)
async def select_job(
    station: Text, body: JobIn, services: ServicesDep, who: Reporter, http: Request
) -> JSONResponse:
    action = JobScan(body.work_order.upper(), body.operation)
    code = f"job:{body.work_order}/{body.operation or ''}"
    return await _button(services, who, station, body, action, code, http)


def _command(command: Command) -> Any:
    async def press(
        station: Text, body: ButtonIn, services: ServicesDep, who: Reporter, http: Request
    ) -> JSONResponse:
        action = CommandScan(command)
        return await _button(services, who, station, body, action, command.value.lower(), http)

    return press


for _cmd in (Command.START, Command.RESUME, Command.COMPLETE, Command.UNDO):
    router.add_api_route(
        f"/stations/{{station}}/{_cmd.value.lower()}",
        _command(_cmd),
        methods=["POST"],
        summary=f"{_cmd.value.capitalize()} the selected operation",
        name=f"station_{_cmd.value.lower()}",
        **_BTN,
    )


@router.post("/stations/{station}/pause", summary="Pause, with a reason", **_BTN)
async def pause(
    station: Text, body: PauseIn, services: ServicesDep, who: Reporter, http: Request
) -> JSONResponse:
    action = Pause(body.reason.upper() if body.reason else None)
    return await _button(services, who, station, body, action, f"pause:{body.reason or ''}", http)


@router.post("/stations/{station}/quantity", summary="Report good units", **_BTN)
async def report_quantity(
    station: Text, body: QuantityIn, services: ServicesDep, who: Reporter, http: Request
) -> JSONResponse:
    action = QuantityScan(body.quantity)
    return await _button(services, who, station, body, action, f"quantity:{body.quantity}", http)


@router.post("/stations/{station}/scrap", summary="Report scrapped units with a reason", **_BTN)
async def report_scrap(
    station: Text, body: ScrapIn, services: ServicesDep, who: Reporter, http: Request
) -> JSONResponse:
    action = ScrapScan(body.quantity, body.reason.upper())
    code = f"scrap:{body.quantity}:{body.reason}"
    return await _button(services, who, station, body, action, code, http)


@router.post("/stations/{station}/material", summary="Consume a material lot or serial", **_BTN)
async def consume_material(
    station: Text, body: MaterialIn, services: ServicesDep, who: Reporter, http: Request
) -> JSONResponse:
    if body.gtin is None and body.lot is None and body.serial is None:
        raise Problem(422, "INVALID_REQUEST", "give at least one of gtin, lot or serial")
    gtin = body.gtin.zfill(14) if body.gtin else None
    action = MaterialScan(
        gtin=gtin, lot=body.lot, serial=body.serial, count=body.count, product=body.product
    )
    code = f"material:{body.gtin or ''}:{body.lot or ''}:{body.serial or ''}:{body.count or ''}"
    return await _button(services, who, station, body, action, code, http)


@router.post(
    "/stations/{station}/inspection",
    summary="Record an inspection result on the selected operation (extension)",
    **_BTN,
)
async def record_inspection(
    station: Text, body: InspectionIn, services: ServicesDep, who: Reporter, http: Request
) -> JSONResponse:
    if isinstance(body.value, float) and not math.isfinite(body.value):
        raise Problem(422, "INVALID_REQUEST", "value must be a finite number, true or false")
    action = InspectionScan(body.characteristic, body.value)
    code = f"inspection:{body.characteristic}:{body.value}"
    return await _button(services, who, station, body, action, code, http)


@router.get(
    "/stations/{station}/state",
    response_model=StationStateOut,
    responses={k: v for k, v in STATION_RESPONSES.items() if k in (401, 403, 404)},
    summary="Logged-in operators, selected job and its progress",
)
def station_state(
    station: Text,
    services: ServicesDep,
    session: SessionDep,
    who: Annotated[Principal, require(Permission.READ)],
) -> dict[str, Any]:
    if station not in services.stations:
        raise Problem(404, "UNKNOWN_STATION", f"no workstation {station!r} in the plant file")
    return services.handler.snapshot(session, station)


@router.get(
    "/stations/{station}/scans",
    response_model=list[ScanLogEntry],
    responses={k: v for k, v in STATION_RESPONSES.items() if k in (401, 403, 404)},
    summary="The station's scan log, newest first (raw text of every scan)",
)
def scan_log(
    station: Text,
    services: ServicesDep,
    session: SessionDep,
    who: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    if station not in services.stations:
        raise Problem(404, "UNKNOWN_STATION", f"no workstation {station!r} in the plant file")
    if who.station is not None and who.station != station:
        raise Problem(403, "FORBIDDEN", f"this token belongs to station {who.station!r}")
    rows = session.exec(
        select(ScanRecord)
        .where(ScanRecord.station == station)
        .order_by(ScanRecord.id.desc())  # type: ignore[union-attr]
        .limit(limit)
    )
    return [
        {**r.model_dump(), "production_event": json.loads(r.answer).get("production_event")}
        for r in rows
    ]


class CorrectionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"production_event": 42, "reason": "counted twice"}]},
    )
    production_event: RowId = Field(description="id of the report to compensate")
    reason: Text = Field(min_length=1, max_length=200)


class CorrectionOut(BaseModel):
    correction_event: int
    corrects: int
    good: int
    scrap: int
    rework: int


@router.post(
    "/corrections",
    response_model=CorrectionOut,
    status_code=201,
    tags=["corrections"],
    responses=refusals(
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "REASON_REQUIRED",
        "EVENT_NOT_FOUND",
        "CORRECTION_NOT_POSSIBLE",
    ),
    summary="Compensate a report with a correction event (supervisor only)",
)
def correct(
    body: CorrectionIn,
    session: SessionDep,
    who: Annotated[Principal, require(Permission.CORRECT)],
    services: ServicesDep,
) -> CorrectionOut:
    try:
        ev = services.production.correct_event(
            session, body.production_event, actor=who.label[:64], reason=body.reason
        )
    except Refusal as exc:
        raise Problem(422, exc.code, exc.message) from exc
    session.commit()
    assert ev.id is not None
    return CorrectionOut(
        correction_event=ev.id,
        corrects=body.production_event,
        good=ev.good,
        scrap=ev.scrap,
        rework=ev.rework,
    )
