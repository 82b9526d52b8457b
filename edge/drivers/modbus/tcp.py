"""A thin Modbus TCP client: one connection, one request at a time, PDU bytes in and out.

pymodbus costs about 40 us of CPU per request (futures, locks, framers, log formatting); this
costs about 15, which matters at thousands of requests per second. Only `ModbusLink` uses it,
and only for TCP (RTU stays on pymodbus). It knows framing, not function codes:

- `request(pdu)` sends one MBAP frame (a new transaction id each time) and returns the answer's
  PDU; an answer is matched by transaction id, so a late answer to a timed-out request is
  dropped, never taken for the next one;
- no answer within `timeout`: the request is sent again, `retries` times, then `TimeoutError`;
- a closed or broken connection: `ConnectionError`.
"""

import asyncio
import struct

_MBAP = struct.Struct(">HHHB")  # transaction id, protocol id (0), length, unit id
MAX_FRAME = 260


class _Framing(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[bytes] | None = None
        self.tid = -1
        self.lost: Exception | None = None
        self._buf = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc or ConnectionError("connection closed by the device")
        self._fail(self.lost)

    def _fail(self, exc: Exception) -> None:
        w = self.waiter
        if w is not None and not w.done():
            w.set_exception(ConnectionError(str(exc) or type(exc).__name__))

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        while len(buf) >= 7:
            tid, protocol, length, _unit = _MBAP.unpack_from(buf)
            if protocol != 0 or not 2 <= length <= MAX_FRAME - 6:
                buf.clear()
                self._fail(ConnectionError(f"bad frame from the device (length {length})"))
                if self.transport is not None:
                    self.transport.abort()
                return
            end = 6 + length
            if len(buf) < end:
                return
            frame = bytes(buf[:end])
            del buf[:end]
            w = self.waiter
            if tid == self.tid and w is not None and not w.done():
                w.set_result(frame)


class ModbusTcpClient:
    def __init__(self, host: str, port: int, unit: int, timeout: float, retries: int) -> None:
        self.host = host
        self.port = port
        self.unit = unit
        self.timeout = timeout
        self.retries = retries
        self._proto: _Framing | None = None
        self._tid = 0

    @property
    def connected(self) -> bool:
        p = self._proto
        return p is not None and p.lost is None and p.transport is not None

    async def connect(self) -> None:
        """Open the connection (OSError or TimeoutError when the device cannot be reached)."""
        self.close()
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.timeout):
            _, proto = await loop.create_connection(_Framing, self.host, self.port)
        self._proto = proto

    def close(self) -> None:
        proto, self._proto = self._proto, None
        if proto is not None and proto.transport is not None:
            proto.transport.abort()

    async def request(self, pdu: bytes) -> bytes:
        """The answer's PDU (possibly a Modbus exception PDU: the caller decodes it)."""
        loop = asyncio.get_running_loop()
        for _ in range(self.retries + 1):
            proto = self._proto
            if proto is None or proto.lost is not None or proto.transport is None:
                raise ConnectionError("not connected")
            self._tid = tid = (self._tid + 1) & 0xFFFF
            waiter: asyncio.Future[bytes] = loop.create_future()
            proto.waiter, proto.tid = waiter, tid
            proto.transport.write(_MBAP.pack(tid, 0, len(pdu) + 1, self.unit) + pdu)
            try:
                async with asyncio.timeout(self.timeout):
                    frame = await waiter
            except TimeoutError:
                continue
            finally:
                proto.waiter = None
            if frame[6] != self.unit:
                raise ConnectionError(f"answer from unit {frame[6]}, asked unit {self.unit}")
            return frame[7:]
        raise TimeoutError(f"no answer in {self.timeout:g} s ({self.retries + 1} attempt(s))")
