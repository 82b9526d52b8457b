"""The agent's small HTTP endpoint: `GET /metrics` and `POST /api/v1/writes/{device}`.

A bare ASGI app (no framework: the agent stays small). Writes need `Authorization: Bearer
<edge.api_token>`; with no token configured the endpoint refuses every write.
"""

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
WriteFn = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]

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
    def __init__(self, metrics: Callable[[], bytes], write: WriteFn, token: str | None) -> None:
        self.metrics = metrics
        self.write = write
        self.token = token

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

    def _authorized(self, scope: Scope) -> bool:
        if self.token is None:
            return False
        headers = dict(scope.get("headers", []))
        given = headers.get(b"authorization", b"").decode("latin-1")
        return hmac.compare_digest(given, f"Bearer {self.token}")

    async def _write(self, scope: Scope, receive: Receive, send: Send, device: str) -> None:
        if self.token is None:
            await _problem(send, 403, "Forbidden", "writes are disabled: no edge.api_token set")
            return
        if not self._authorized(scope):
            await _problem(send, 401, "Unauthorized", "a valid bearer token is required")
            return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if len(body) > MAX_BODY:
                await _problem(send, 413, "Payload Too Large", f"at most {MAX_BODY} bytes")
                return
            if not event.get("more_body"):
                break
        try:
            request = json.loads(body)
        except ValueError as exc:
            await _problem(send, 400, "Bad Request", f"body is not JSON: {exc}")
            return
        if not isinstance(request, dict):
            await _problem(send, 400, "Bad Request", "body must be a JSON object")
            return
        result = await self.write(device, request)
        status = 200 if result.get("ok") else 422
        await _respond(send, status, json.dumps({"v": 1, **result}).encode(), "application/json")


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
