"""The agent's small HTTP endpoint: `GET /metrics` and `POST /api/v1/writes/{device}`.

A bare ASGI app (no framework: the agent stays small). Writes need `Authorization: Bearer
<token>` of a caller named in `edge.api_tokens` (or the older single `edge.api_token`); with no
token configured the endpoint refuses every write. Every attempt is audited under the caller's
name, refused ones included; a refused token is logged without the token.
"""

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from edge.northbound.tokens import CallerTokens, RefusalBudget
from edge.writes import Caller

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
WriteFn = Callable[[str, dict[str, Any], Caller], Awaitable[dict[str, Any]]]
#: audits an attempt that never became a request: (device, caller, error, payload)
RefuseFn = Callable[[str, Caller, str, bytes | None], Any]

MAX_BODY = 64 * 1024
WRITES_PREFIX = "/api/v1/writes/"


async def _respond(send: Send, status: int, body: bytes, ctype: str) -> None:
    headers = [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _problem(send: Send, status: int, title: str, detail: str) -> None:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})
    await _respond(send, status, body.encode(), "application/problem+json")


class AgentHttp:
    def __init__(
        self, metrics: Callable[[], bytes], write: WriteFn, refuse: RefuseFn, tokens: CallerTokens
    ) -> None:
        self.metrics = metrics
        self.write = write
        self.refuse = refuse
        self.tokens = tokens
        self.budget = RefusalBudget()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == "/metrics" and method == "GET":
            await _respond(send, 200, self.metrics(), "text/plain; version=0.0.4")
        elif path.startswith(WRITES_PREFIX) and method == "POST":
            await self._write(scope, receive, send, path[len(WRITES_PREFIX) :])
        elif path == "/metrics" or path.startswith(WRITES_PREFIX):
            await _problem(send, 405, "Method Not Allowed", f"{method} {path}")
        else:
            await _problem(send, 404, "Not Found", f"no resource at {path}")

    def _refuse_anonymous(self, device: str, client: Any, error: str) -> None:
        """Log and audit a request without a valid token (never the token), within the
        client address's budget; what exceeds it is counted into the next entry."""
        remote = f"{client[0]}:{client[1]}" if client else None
        suppressed = self.budget.take(client[0] if client else "-")
        if suppressed is None:
            return
        more = f" ({suppressed} more since the last one not recorded)" if suppressed else ""
        log.warning("write API: refused a request from %s: %s%s", remote, error, more)
        self.refuse(device, Caller("anonymous", "http", remote), f"{error}{more}", None)

    async def _write(self, scope: Scope, receive: Receive, send: Send, device: str) -> None:
        client = scope.get("client")
        remote = f"{client[0]}:{client[1]}" if client else None
        name = None
        if self.tokens.enabled:
            headers = dict(scope.get("headers", []))
            name = self.tokens.identify(headers.get(b"authorization", b"").decode("latin-1"))
        if name is None:
            error = (
                "unauthorized: no valid bearer token" if self.tokens.enabled else "writes disabled"
            )
            self._refuse_anonymous(device, client, error)
            if not self.tokens.enabled:
                await _problem(
                    send, 403, "Forbidden", "writes are disabled: no edge.api_tokens set"
                )
            else:
                await _problem(send, 401, "Unauthorized", "a valid bearer token is required")
            return
        caller = Caller(f"token:{name}", "http", remote)
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if len(body) > MAX_BODY:
                self.refuse(device, caller, f"bad request: body above {MAX_BODY} bytes", body)
                await _problem(send, 413, "Payload Too Large", f"at most {MAX_BODY} bytes")
                return
            if not event.get("more_body"):
                break
        try:
            request = json.loads(body)
        except ValueError as exc:
            self.refuse(device, caller, f"bad request: not JSON: {exc}", body)
            await _problem(send, 400, "Bad Request", f"body is not JSON: {exc}")
            return
        if not isinstance(request, dict):
            self.refuse(device, caller, "bad request: not a JSON object", body)
            await _problem(send, 400, "Bad Request", "body must be a JSON object")
            return
        result = {"v": 1, **await self.write(device, request, caller)}
        if result.get("ok"):
            await _respond(send, 200, json.dumps(result).encode(), "application/json")
            return
        # a refused write: a problem document that also carries the write result's fields
        detail = str(result.get("error"))
        problem = {"type": "about:blank", "title": "Write refused", "status": 422, "detail": detail}
        body = json.dumps({**problem, **result}).encode()
        await _respond(send, 422, body, "application/problem+json")


def http_server(app: AgentHttp) -> Any:
    """A uvicorn server for `app` that leaves signal handling to the agent (imported only
    when the agent serves HTTP: it costs memory)."""
    import contextlib
    from collections.abc import Generator

    import uvicorn

    class QuietServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Generator[None, None, None]:
            yield

    return QuietServer(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
