"""Security headers on every answer: pages may not be framed (clickjacking), load only their own
scripts, and leak no referrer; API answers forbid everything a browser could do with them."""

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The station page: its own script, its inline <style>, fetches to the MES itself.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
#: Swagger UI and ReDoc (FastAPI's pages): an inline bootstrap script and a CDN.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; worker-src 'self' blob:; frame-ancestors 'none'"
)
#: JSON, SSE, metrics: nothing to render.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_PATHS = ("/docs", "/redoc")

COMMON = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


def csp_for(path: str, content_type: str) -> str:
    if path.startswith(DOCS_PATHS):
        return DOCS_CSP
    if content_type.startswith("text/html"):
        return PAGE_CSP
    return API_CSP


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in COMMON:
                    headers.setdefault(name, value)
                own = headers.get("content-security-policy")
                if own is None:
                    csp = csp_for(path, headers.get("content-type", ""))
                    headers["Content-Security-Policy"] = csp
                elif "frame-ancestors" not in own:  # a page's own policy: never framed
                    headers["Content-Security-Policy"] = f"{own}; frame-ancestors 'none'"
            await send(message)

        await self.app(scope, receive, send_with_headers)
