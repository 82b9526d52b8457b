"""RFC 9457 problem details: every API error leaves as application/problem+json."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


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
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
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
        return resp

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        every = exc.errors()
        shown = max_errors(request)  # a million bad keys must not echo a million errors
        errors = [
            {"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]} for e in every[:shown]
        ]
        detail = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors[:5])
        if len(every) > shown:
            detail += f" (and {len(every) - shown} more errors)"
        return problem_response(
            422, "INVALID_REQUEST", detail, errors=errors, error_count=len(every)
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Last line of defence: a bug must still answer a problem document, never a bare 500.
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem_response(500, "INTERNAL_ERROR", "unexpected error; it has been logged")
