"""RFC 9457 problem details: every API error leaves as application/problem+json, and the
OpenAPI document says which ones each operation can give.

A route declares the refusal codes its own body raises (`responses=refusals("UNKNOWN_HOLD")`);
a dependency declares its codes with `@raises(...)`; `document_problems` adds what follows from
the operation itself (422 for any parameter or body, 400 for a body) and gives every error
status the Problem schema.
"""

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match, Route

from config.problems import message

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "invalid request: one entry per field (`loc` names it)",
            "items": {
                "type": "object",
                "properties": {"loc": {"type": "string"}, "msg": {"type": "string"}},
                "required": ["loc", "msg"],
            },
        },
    },
    "required": ["type", "title", "status", "detail", "code"],
    "example": {
        "type": "https://shopfloor.dev/problems/forbidden",
        "title": "Forbidden",
        "status": 403,
        "detail": "this token belongs to station 'ws-10', not 'ws-20'",
        "code": "FORBIDDEN",
    },
}
PROBLEM_CONTENT: dict[str, Any] = {
    PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
}

#: Every refusal code of the API: its HTTP status and what it means.
CODES: dict[str, tuple[int, str]] = {
    "MALFORMED_BODY": (400, "the body is not UTF-8 text"),
    "UNAUTHENTICATED": (401, "no token, or a bad, expired or revoked one"),
    "FORBIDDEN": (403, "the caller's role (or station) may not do this"),
    "NOT_FOUND": (404, "no such resource"),
    "UNKNOWN_STATION": (404, "no such workstation in the plant file"),
    "UNKNOWN_HOLD": (404, "no hold with this id"),
    "UNKNOWN_ALARM": (404, "no alarm with this name"),
    "NO_INSPECTION_PLAN": (404, "the operation has no inspection plan"),
    "UNKNOWN_LOT": (404, "no lot or serial with this id"),
    "NOT_THIS_STATIONS_JOB": (403, "a station inspects only the job it has selected"),
    "LOT_NOT_IN_JOB": (403, "the lot was neither made nor consumed by the station's job"),
    "SHELVE_TOO_LONG": (422, "longer than the alarm's priority allows"),
    "WORK_ORDER_NOT_FOUND": (404, "no such work order"),
    "OPERATION_NOT_FOUND": (404, "the work order has no such operation"),
    "LOT_NOT_FOUND": (404, "no lot or serial with this code"),
    "METHOD_NOT_ALLOWED": (405, "not a method of this path (see Allow)"),
    "NO_PLAN": (404, "no plan yet"),
    "PLAN_SUPERSEDED": (409, "not the current plan: a newer one was made"),
    "OPERATION_STARTED": (409, "the operation started: it keeps its workstation and time"),
    "ILLEGAL_TRANSITION": (409, "not possible in the current state"),
    "ILLEGAL_STATE": (409, "not allowed in the work order's state"),
    "EVENT_ID_REUSED": (409, "event_id already used at another station"),
    "CONFLICT": (409, "changed concurrently: retry"),
    "BADGE_IN_USE": (409, "the badge belongs to another operator"),
    "MESSAGE_TOO_LARGE": (413, "the ERP message is larger than `mes.erp.max_message_bytes`"),
    "NOT_ELIGIBLE": (422, "the workstation cannot run the operation"),
    "REASON_REQUIRED": (422, "a reason is needed"),
    "EVENT_NOT_FOUND": (422, "no production event with this id"),
    "CORRECTION_NOT_POSSIBLE": (422, "the event cannot be corrected (see `detail`)"),
    "START_IN_THE_PAST": (422, "a slot cannot start before now"),
    "INVALID_REQUEST": (422, "invalid request: `errors` names each field"),
    "UNSTORABLE_VALUE": (422, "a value the database cannot hold"),
    "INVALID_USER": (422, "the user cannot be created"),
    "INVALID_ROLE": (422, "not a role of a service token"),
    "INVALID_PLAN": (422, "the inspection plan is invalid"),
    "INVALID_RESULTS": (422, "the results do not fit the inspection plan"),
    "STARTING": (503, "the MES is starting or stopping: retry shortly"),
    "NOT_STORED": (503, "not stored: resend with the same event_id"),
    "NOT_READY": (503, "the MES is starting or stopping"),
}


class Problem(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.headers = headers or {}
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title or code.replace("_", " ").capitalize()
        self.extra = extra


def problem_response(
    status: int, code: str, detail: str, title: str | None = None, **extra: Any
) -> JSONResponse:
    body = {
        "type": f"https://shopfloor.dev/problems/{code.lower().replace('_', '-')}",
        "title": title or code.replace("_", " ").capitalize(),
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def refusals(*codes: str) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route whose body raises these codes (see CODES)."""
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(CODES[code][0], []).append(code)
    return {
        status: {"description": _describe(names), "content": dict(PROBLEM_CONTENT)}
        for status, names in by_status.items()
    }


def _describe(codes: Iterable[str]) -> str:
    return "; ".join(f"`{code}`: {CODES[code][1]}" for code in codes)


F = TypeVar("F", bound=Callable[..., Any])


def raises(*codes: str) -> Callable[[F], F]:
    """Mark a dependency with the refusal codes it can raise: every route using it documents
    them."""

    def mark(call: F) -> F:
        call.__dict__["refusals"] = codes
        return call

    return mark


def _dependency_codes(dependant: Any) -> Iterator[str]:
    for sub in dependant.dependencies:
        yield from getattr(sub.call, "refusals", ())
        yield from _dependency_codes(sub)


_GENERIC = {"Additional Response", "Validation Error", ""}


def document_problems(schema: dict[str, Any], routes: Iterable[BaseRoute]) -> None:
    """Make every operation of `schema` list the problems it can answer, as problem+json."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for route in iter_route_contexts(list(routes)):
        dependant = getattr(route, "dependant", None)
        path_item = schema.get("paths", {}).get(getattr(route, "path_format", None), {})
        for method in getattr(route, "methods", None) or ():
            operation = path_item.get(method.lower())
            if operation is None or dependant is None:
                continue
            codes = list(dict.fromkeys(_dependency_codes(dependant)))
            if operation.get("parameters") or operation.get("requestBody"):
                codes.append("INVALID_REQUEST")
            if operation.get("requestBody"):
                codes.append("MALFORMED_BODY")
            _add(operation["responses"], codes)
    used = str(schema.get("paths"))
    for name in ("HTTPValidationError", "ValidationError"):
        if f"/{name}'" not in used:
            schema["components"]["schemas"].pop(name, None)


def _add(responses: dict[str, Any], codes: list[str]) -> None:
    for status, entry in refusals(*codes).items():
        declared = responses.setdefault(str(status), entry)
        said = declared.get("description", "")
        if declared is not entry and said.startswith("`"):  # the route's refusals(): add ours
            more = [line for line in entry["description"].split("; ") if line not in said]
            declared["description"] = "; ".join([said, *more])
    for status, entry in responses.items():
        if not status.isdigit() or int(status) < 400:
            continue
        content = entry["content"] = dict(entry.get("content") or {})  # never a shared dict
        json_body = content.get("application/json", {}).get("schema", {})
        if json_body.get("$ref", "").endswith("/HTTPValidationError") or json_body == {}:
            content.pop("application/json", None)  # FastAPI's default: never what is sent
        content.setdefault(PROBLEM_JSON, PROBLEM_CONTENT[PROBLEM_JSON])
        if entry.get("description", "") in _GENERIC:
            named = [c for c in codes if str(CODES[c][0]) == status]
            entry["description"] = _describe(named) if named else "see `code`"


def _allowed_methods(request: Request) -> str:
    """All methods of the request's path: routes of one path are separate entries, and
    Starlette's 405 names the methods of the first only."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        matched = route.matches(request.scope)[0] is not Match.NONE
        if matched and isinstance(route.original_route, Route):
            methods.update(route.methods or ())
    return ", ".join(sorted(methods))


def max_errors(request: Request) -> int:
    """How many validation errors a 422 lists (`mes.security.max_validation_errors`)."""
    services = getattr(request.app.state, "services", None)
    cfg = getattr(services, "cfg", None)
    return cfg.mes.security.max_validation_errors if cfg is not None else 20


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        resp = problem_response(exc.status, exc.code, exc.detail, exc.title, **exc.extra)
        resp.headers.update(exc.headers)
        return resp

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            400: "MALFORMED_BODY",
            401: "UNAUTHENTICATED",
            403: "FORBIDDEN",
            404: "NOT_FOUND",
            405: "METHOD_NOT_ALLOWED",
        }
        resp = problem_response(
            exc.status_code, code.get(exc.status_code, "HTTP_ERROR"), str(exc.detail)
        )
        if exc.headers:
            resp.headers.update(exc.headers)
        if exc.status_code == 405:
            resp.headers["Allow"] = _allowed_methods(request)
        return resp

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        every = exc.errors()
        shown = max_errors(request)  # a million bad keys must not echo a million errors
        errors = [
            {"loc": ".".join(str(p) for p in e["loc"]), "msg": message(e)} for e in every[:shown]
        ]
        detail = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors[:5])
        if len(every) > shown:
            detail += f" (and {len(every) - shown} more errors)"
        return problem_response(
            422, "INVALID_REQUEST", detail, errors=errors, error_count=len(every)
        )

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> JSONResponse:
        # A request value one database takes and the other does not (NUL in PostgreSQL text,
        # an id past its INTEGER) that no field type caught (mes.api.types): the client's.
        log.warning("unstorable value on %s %s: %s", request.method, request.url.path, exc.orig)
        return problem_response(
            422, "UNSTORABLE_VALUE", "a value cannot be stored (a NUL, or a number too large)"
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Last line of defence: a bug must still answer a problem document, never a bare 500.
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem_response(500, "INTERNAL_ERROR", "unexpected error; it has been logged")
