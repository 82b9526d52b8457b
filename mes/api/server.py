"""uvicorn's HTTP protocol with a deadline on the request head.

uvicorn bounds idle keep-alive connections but not a client that sends its request line and
headers slowly: 100 such connections stayed open 45 s and more (issue 18). Here a connection must
complete each request head within `head_timeout_s` of connecting (or of the previous answer) and
within `max_head_bytes` of headers, else it is answered 408 (or 400) and closed.
"""

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class BoundedHeadProtocol(HttpToolsProtocol):
    head_timeout_s: float = 10.0
    max_head_bytes: int = 16 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes = 0

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_expired)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_expired(self) -> None:
        self._head_timer = None
        if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
            )
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._disarm_head_timer()
        super().on_headers_complete()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value)
        if self._head_bytes > self.max_head_bytes:  # uvicorn answers 400 and closes
            raise httptools.HttpParserError(f"request head over {self.max_head_bytes} bytes")
        super().on_header(name, value)

    def data_received(self, data: bytes) -> None:
        if not self.transport.is_closing():
            super().data_received(data)

    def on_message_begin(self) -> None:
        self._head_bytes = 0
        super().on_message_begin()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)


def bounded_protocol(head_timeout_s: float, max_head_bytes: int) -> type[BoundedHeadProtocol]:
    return type(
        "PlantHttpProtocol",
        (BoundedHeadProtocol,),
        {"head_timeout_s": head_timeout_s, "max_head_bytes": max_head_bytes},
    )


def server_options(security: Any) -> dict[str, Any]:
    """uvicorn.Config options from `mes.security` (`mes serve`)."""
    return {
        "http": bounded_protocol(security.header_timeout_s, security.max_header_bytes),
        "limit_concurrency": security.limit_concurrency,
        "timeout_keep_alive": security.timeout_keep_alive_s,
        "h11_max_incomplete_event_size": security.max_header_bytes,
    }


class StreamingServer(uvicorn.Server):
    """uvicorn that ends the app's live streams (server-sent events) as it shuts down. uvicorn
    waits for open responses before the lifespan's shutdown runs; a stream never ends by itself,
    so without this every open board held a stop for `timeout_graceful_shutdown`."""

    def __init__(self, config: uvicorn.Config, end_streams: Callable[[], object]) -> None:
        super().__init__(config)
        self._end_streams = end_streams

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._end_streams()
        await super().shutdown(sockets)
