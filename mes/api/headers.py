"""Security headers on every answer: pages may not be framed (clickjacking), load only their own
scripts, and leak no referrer; API answers forbid everything a browser could do with them."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The station page: its own script, its inline <style>, fetches to the MES itself.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
#: Swagger UI and ReDoc (FastAPI's pages): an inline bootstrap script; their assets are served
#: by the MES itself (mes.api.exposure), so nothing comes from another origin.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'"
)
#: JSON, SSE, metrics: nothing to render.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_PATHS = ("/docs", "/redoc")

COMMON = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_CSP = b"content-security-policy"


def csp_for(path: str, content_type: str) -> str:
    if path.startswith(DOCS_PATHS):
        return DOCS_CSP
    if content_type.startswith(("text/html", "text/javascript", "application/javascript")):
        # a script's own policy governs it when it runs as a worker: the station page's service
        # worker fetches and caches the app shell from the MES itself
        return PAGE_CSP
    return API_CSP


class SecurityHeaders:
    """Adds the headers a response does not set itself (raw ASGI: this runs on every scan)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _with_security(path, list(message.get("headers", ())))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _with_security(path: str, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    own = {name.lower(): i for i, (name, _) in enumerate(headers)}
    headers.extend(h for h in COMMON if h[0] not in own)
    at = own.get(_CSP)
    if at is None:
        kind = headers[own[b"content-type"]][1] if b"content-type" in own else b""
        headers.append((_CSP, csp_for(path, kind.decode("latin-1")).encode()))
    elif b"frame-ancestors" not in headers[at][1]:  # a page's own policy: never framed
        headers[at] = (_CSP, headers[at][1] + b"; frame-ancestors 'none'")
    return headers
