"""Modbus TCP and RTU servers over register banks, with fault injection for tests.

One server answers every unit id it has a bank for (a gateway); a unit without a bank gets
exception 11 (gateway target failed to respond) over TCP and silence over RTU, as real gateways
and serial slaves behave. Faults: `delay_s` (answer late), `silent` (answer nothing),
`drop_connections()`, and `stop()`/`start()` on the same port.
"""

import asyncio
import contextlib
import logging
import struct

import serial

from simulators.modbus.pdu import RegisterBank, crc16, exception_pdu, handle_pdu, request_length

log = logging.getLogger(__name__)

GATEWAY_TARGET_FAILED = 11


class _Faults:
    def __init__(self) -> None:
        self.delay_s = 0.0
        self.silent = False


class ModbusTcpServer:
    def __init__(self, host: str, port: int, banks: dict[int, RegisterBank]) -> None:
        self.host = host
        self.port = port
        self.banks = banks
        self.faults = _Faults()
        self.requests = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._serve, self.host, self.port, reuse_address=True
            )

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            self.drop_connections()
            await server.wait_closed()

    def drop_connections(self) -> int:
        """Close every open client connection (the server keeps listening)."""
        writers = list(self._writers)
        for w in writers:
            w.transport.abort()
        self._writers.clear()
        return len(writers)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                header = await reader.readexactly(7)
                tid, pid, length, unit = struct.unpack(">HHHB", header)
                if pid != 0 or not 2 <= length <= 254:
                    break
                pdu = await reader.readexactly(length - 1)
                response = await self._respond(unit, pdu)
                if response is None:
                    continue
                writer.write(struct.pack(">HHHB", tid, 0, len(response) + 1, unit) + response)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    async def _respond(self, unit: int, pdu: bytes) -> bytes | None:
        self.requests += 1
        if self.faults.delay_s:
            await asyncio.sleep(self.faults.delay_s)
        if self.faults.silent:
            return None
        bank = self.banks.get(unit)
        if bank is None:
            return exception_pdu(pdu[0] if pdu else 0, GATEWAY_TARGET_FAILED)
        return handle_pdu(bank, pdu)


class ModbusRtuServer:
    """Modbus RTU slave(s) on a serial device (e.g. one end of a socat pty pair)."""

    def __init__(
        self, port: str, banks: dict[int, RegisterBank], baudrate: int = 19200, parity: str = "E"
    ) -> None:
        self.port = port
        self.banks = banks
        self.baudrate = baudrate
        self.parity = parity
        self.faults = _Faults()
        self.requests = 0
        self._serial: serial.Serial | None = None
        self._buffer = b""
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._serial is not None

    async def start(self) -> None:
        if self._serial is not None:
            return
        ser = serial.Serial(self.port, self.baudrate, parity=self.parity, timeout=0)
        self._serial = ser
        self._buffer = b""
        loop = asyncio.get_running_loop()
        loop.add_reader(ser.fileno(), self._on_readable)
        self._task = asyncio.create_task(self._answer())

    async def stop(self) -> None:
        ser, self._serial = self._serial, None
        if ser is not None:
            asyncio.get_running_loop().remove_reader(ser.fileno())
            ser.close()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def drop_connections(self) -> int:
        return 0  # a serial line has no connections

    def _on_readable(self) -> None:
        if self._serial is None:
            return
        try:
            data = self._serial.read(4096)
        except serial.SerialException:
            return
        self._buffer += data
        while (n := request_length(self._buffer)) is not None and len(self._buffer) >= n:
            frame, self._buffer = self._buffer[:n], self._buffer[n:]
            body, crc = frame[:-2], frame[-2:]
            if crc16(body).to_bytes(2, "little") != crc:
                self._buffer = b""  # lost sync: wait for the line to go quiet
                return
            self._queue.put_nowait(body)

    async def _answer(self) -> None:
        while True:
            body = await self._queue.get()
            unit, pdu = body[0], body[1:]
            self.requests += 1
            if self.faults.delay_s:
                await asyncio.sleep(self.faults.delay_s)
            bank = self.banks.get(unit)
            if bank is None or self.faults.silent or self._serial is None:
                continue
            reply = bytes((unit,)) + handle_pdu(bank, pdu)
            self._serial.write(reply + crc16(reply).to_bytes(2, "little"))
