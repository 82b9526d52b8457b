"""Bounded requests: a body larger than the limit is refused with 413 before the app parses it,
and a body that does not arrive within `body_timeout_s` with 408. The body is read here (at most
the limit), then handed to the app; the limit can be larger for path prefixes that need it."""

import asyncio
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config.security import MesSecurity
from mes.api.headers import SecurityHeaders
from mes.api.problems import problem_response


def install_limits(app: FastAPI, security: MesSecurity) -> None:
    """Body limits inside, security headers outside (they also go on the 413s)."""
    app.add_middleware(
        BodyLimit,
        max_bytes=security.max_body_bytes,
        by_prefix=security.body_limits,
        timeout_s=security.body_timeout_s,
    )
    app.add_middleware(SecurityHeaders)


class BodyLimit:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        by_prefix: Mapping[str, int] | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # longest prefix first: the most specific limit wins
        self.by_prefix = sorted((by_prefix or {}).items(), key=lambda kv: -len(kv[0]))
        self.timeout_s = timeout_s

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.by_prefix:
            if path.startswith(prefix):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, send, 413, "PAYLOAD_TOO_LARGE", _too_large(declared, limit))
            return
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.timeout_s):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        return  # the client went away
                    chunk: bytes = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        await _refuse(
                            scope, send, 413, "PAYLOAD_TOO_LARGE", _too_large(size, limit)
                        )
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            detail = f"the request body did not arrive within {self.timeout_s:g} s"
            await _refuse(scope, send, 408, "REQUEST_TIMEOUT", detail)
            return
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(size: int, limit: int) -> str:
    return f"request body of {size} bytes or more is larger than the {limit} bytes allowed here"


async def _refuse(scope: Scope, send: Send, status: int, code: str, detail: str) -> None:
    response: Any = problem_response(status, code, detail)
    response.headers["Connection"] = "close"

    async def no_body() -> Message:
        return {"type": "http.disconnect"}

    await response(scope, no_body, send)
