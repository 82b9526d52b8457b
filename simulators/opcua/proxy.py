"""A TCP proxy in front of the simulated server, for fault injection: delay and drop.

Bytes pass unchanged; a delay postpones every chunk in both directions by the same time,
so ordering holds. Dropping closes every open connection at once, as a cable pull or a
server-side reset would.
"""

import asyncio
import logging

log = logging.getLogger(__name__)


class _Side(asyncio.Protocol):
    def __init__(self, proxy: "FaultProxy") -> None:
        self.proxy = proxy
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.pending: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        delay = self.proxy.delay_s
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self._forward, data)
        else:
            self._forward(data)

    def _forward(self, data: bytes) -> None:
        peer = self.peer
        if peer is None or peer.transport is None:
            self.pending.append(data)
        elif not peer.transport.is_closing():
            peer.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.proxy.sides.discard(self)
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class _Downstream(_Side):
    """The client's side: opens the upstream connection to the real server."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.proxy.sides.add(self)
        transport.pause_reading()  # type: ignore[attr-defined]
        task = asyncio.get_running_loop().create_task(self._open_upstream())
        self.proxy.tasks.add(task)
        task.add_done_callback(self.proxy.tasks.discard)

    async def _open_upstream(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, upstream = await loop.create_connection(
                lambda: _Side(self.proxy), "127.0.0.1", self.proxy.upstream_port
            )
        except OSError:
            self.close()
            return
        self.proxy.sides.add(upstream)
        upstream.peer, self.peer = self, upstream
        for data in self.pending:
            self._forward(data)
        self.pending.clear()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()


class FaultProxy:
    """Listens on `port` and forwards to 127.0.0.1:`upstream_port`."""

    def __init__(self, host: str, port: int, upstream_port: int) -> None:
        self.host = host
        self.port = port
        self.upstream_port = upstream_port
        self.delay_s = 0.0
        self.sides: set[_Side] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Downstream(self), self.host, self.port, reuse_address=True
        )

    def drop_connections(self) -> int:
        """Close every proxied connection; returns how many client connections were open."""
        clients = sum(1 for s in self.sides if isinstance(s, _Downstream))
        for side in list(self.sides):
            side.close()
        return clients

    @property
    def connections(self) -> int:
        return sum(1 for s in self.sides if isinstance(s, _Downstream))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self.drop_connections()
            await self._server.wait_closed()
            self._server = None
        for task in list(self.tasks):
            task.cancel()
