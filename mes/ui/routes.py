"""The workstation page: static HTML and a small script, no build step."""

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

router = APIRouter(include_in_schema=False)

_STATIC = files("mes.ui") / "static"


def _page() -> HTMLResponse:
    html = (_STATIC / "station.html").read_text(encoding="utf-8")
    return HTMLResponse(
        html,
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/")
def index() -> HTMLResponse:
    return _page()


@router.get("/station/{station}")
def station_page(station: str) -> HTMLResponse:
    return _page()


@router.get("/static/station.js")
def station_js() -> Response:
    return Response(
        (_STATIC / "station.js").read_text(encoding="utf-8"),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
