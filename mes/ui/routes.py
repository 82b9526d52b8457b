"""The pages: the workstation page, the supervisor board (`/board`, TV wall `/board?tv=1`) and
the owner's page (`/owner`): static HTML, CSS and ES modules served as they are (no build step).
The pages are public shells; every figure they draw comes from the API with a token."""

import hashlib
import json
from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from mes.i18n import LANGUAGES, PSEUDO, catalogue

router = APIRouter(include_in_schema=False)

_STATIC = files("mes.ui") / "static"
_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
}
#: strict: the page has no inline script or style
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


#: where a page takes the plant's default language (`mes.language`)
_PLANT_LANGUAGE = "{{plant_language}}"


def _page(name: str = "station.html", language: str = "en") -> HTMLResponse:
    html = (_STATIC / name).read_text(encoding="utf-8").replace(_PLANT_LANGUAGE, language)
    return HTMLResponse(html, headers={**_HEADERS, "Content-Security-Policy": CSP})


def _plant_language(request: Request) -> str:
    services = getattr(request.app.state, "services", None)
    return str(services.cfg.mes.language) if services is not None else "en"


def _not_found() -> Response:
    return Response("not found", status_code=404, media_type="text/plain", headers=_HEADERS)


@router.get("/")
def index() -> HTMLResponse:
    return _page()


@router.get("/station/{station}")
def station_page(station: str) -> HTMLResponse:
    return _page()


@router.get("/station-shell")
def station_shell() -> HTMLResponse:
    """The page the service worker keeps for a reload while the MES is down."""
    return _page()


@router.get("/board")
def board_page(request: Request) -> HTMLResponse:
    """The supervisor board (tablet, desktop; `?tv=1` for the TV wall)."""
    return _page("board.html", _plant_language(request))


@router.get("/owner")
def owner_page(request: Request) -> HTMLResponse:
    """The owner's figures, phone first."""
    return _page("owner.html", _plant_language(request))


@router.get("/sw.js")
def service_worker() -> Response:
    body = (_STATIC / "sw.js").read_text(encoding="utf-8")
    return Response(body, media_type="text/javascript", headers=_HEADERS)


@router.get("/static/{name:path}")
def static_file(name: str, request: Request) -> Response:
    parts = name.split("/")
    suffix = "." + parts[-1].rsplit(".", 1)[-1] if "." in parts[-1] else ""
    if suffix not in _TYPES or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return _not_found()
    resource = _STATIC.joinpath(*parts)
    if not resource.is_file():
        return _not_found()
    body = resource.read_bytes()
    # `no-cache` makes the browser ask every time; the ETag lets the MES answer 304 without
    # the body (the vendored ECharts is 1.1 MB: a phone should fetch it once)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {**_HEADERS, "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=_TYPES[suffix], headers=headers)


@router.get("/i18n/{language}.json")
def page_catalogue(language: str) -> Response:
    if language not in (*LANGUAGES, PSEUDO):
        return _not_found()
    body = json.dumps(catalogue(language), ensure_ascii=False)
    return Response(body, media_type="application/json", headers=_HEADERS)
