"""The one thin adapter over the Modbus clients: connect, read one block, write, close.

Modbus TCP goes through our thin client (`tcp.py`: a fraction of pymodbus's CPU per request);
RTU goes through pymodbus, and everything pymodbus-specific stays here (its API changes in
most 3.x minors). Errors become two of our own: `LinkDown` (the connection is unusable:
reconnect) and `DeviceException` (the device answered with a Modbus exception code: the
connection is fine).
"""

import asyncio
import contextlib
import struct
import termios
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any

from edge.drivers.modbus.codec import exception_name
from edge.drivers.modbus.config import ModbusArea, ModbusDevice, ModbusTcpConnection
from edge.drivers.modbus.tcp import ModbusTcpClient

if TYPE_CHECKING:  # pymodbus loads only for RTU devices (an agent with TCP ones is lighter)
    from pymodbus.client import AsyncModbusSerialClient

#: function code of each area's read
READ_CODES: dict[ModbusArea, int] = {
    "coil": 1,
    "discrete_input": 2,
    "holding_register": 3,
    "input_register": 4,
}
_READ = struct.Struct(">BHH")


class LinkDown(Exception):
    """No usable connection; `reason` is the quality reason (comm_timeout, disconnected...)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


class DeviceException(Exception):
    """The device answered with a Modbus exception code."""

    def __init__(self, code: int) -> None:
        super().__init__(exception_name(code))
        self.code = code
        self.reason = exception_name(code)


class ModbusLink:
    """One connection to one device (one unit id): several devices behind one gateway each
    have their own link, so a slow unit never blocks another."""

    def __init__(self, cfg: ModbusDevice) -> None:
        self.cfg = cfg
        self.unit = cfg.unit_id
        self._timeout = cfg.timeout_ms / 1000
        self._client: AsyncModbusSerialClient | None = None
        self._tcp: ModbusTcpClient | None = None
        #: a request that never returns (it should not) must not hang the device's task
        self._guard = self._timeout * (cfg.retries + 1) + 1.0

    def _make_client(self) -> "AsyncModbusSerialClient":
        from pymodbus.client import AsyncModbusSerialClient

        c, t, n = self.cfg.connection, self._timeout, self.cfg.retries
        assert not isinstance(c, ModbusTcpConnection)
        return AsyncModbusSerialClient(
            c.port,
            baudrate=c.baudrate,
            parity=c.parity,
            stopbits=c.stopbits,
            bytesize=c.bytesize,
            timeout=t,
            retries=n,
            reconnect_delay=0,
            name=self.cfg.name,
        )

    @property
    def connected(self) -> bool:
        if self._tcp is not None:
            return self._tcp.connected
        return self._client is not None and self._client.connected

    async def connect(self) -> None:
        self.close()
        c = self.cfg.connection
        if isinstance(c, ModbusTcpConnection):
            tcp = ModbusTcpClient(c.host, c.port, self.unit, self._timeout, self.cfg.retries)
            try:
                await tcp.connect()
            except (TimeoutError, OSError) as exc:
                raise LinkDown(
                    "connect_failed", f"cannot connect: {exc or type(exc).__name__}"
                ) from None
            finally:
                _raise_if_cancelling()
            self._tcp = tcp
            return
        from pymodbus.exceptions import ModbusException

        client = self._make_client()
        self._client = client
        try:
            async with asyncio.timeout(self._timeout + 1):
                ok = await client.connect()
        except (TimeoutError, OSError, ModbusException, termios.error) as exc:
            self.close()
            raise LinkDown(
                "connect_failed", f"cannot connect: {exc or type(exc).__name__}"
            ) from None
        finally:
            _raise_if_cancelling()
        if not ok:
            self.close()
            raise LinkDown("connect_failed", "cannot connect")

    def close(self) -> None:
        tcp, self._tcp = self._tcp, None
        if tcp is not None:
            tcp.close()
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    def _live(self) -> "AsyncModbusSerialClient":
        if self._client is None or not self._client.connected:
            raise LinkDown("disconnected", "not connected")
        return self._client

    async def read(self, area: ModbusArea, address: int, count: int) -> Sequence[int] | list[bool]:
        """Registers (or bits, exactly `count` of them) of one block."""
        if self._tcp is not None:
            return await self._tcp_read(self._tcp, area, address, count)
        client = self._live()
        dev = self.unit
        if area == "holding_register":
            call = client.read_holding_registers(address, count=count, device_id=dev)
        elif area == "input_register":
            call = client.read_input_registers(address, count=count, device_id=dev)
        elif area == "coil":
            call = client.read_coils(address, count=count, device_id=dev)
        else:
            call = client.read_discrete_inputs(address, count=count, device_id=dev)
        rr = await self._call(call)
        if area in ("coil", "discrete_input"):
            bits = list(rr.bits)
            if len(bits) < count:
                raise LinkDown("comm_error", f"asked {count} bits, got {len(bits)}")
            return bits[:count]
        if len(rr.registers) != count:
            raise LinkDown("comm_error", f"asked {count} registers, got {len(rr.registers)}")
        return rr.registers

    async def write(self, area: ModbusArea, address: int, registers: list[int]) -> None:
        """Write a coil (registers = [0|1]) or holding registers."""
        if self._tcp is not None:
            if area == "coil":
                pdu = struct.pack(">BHH", 5, address, 0xFF00 if registers[0] else 0)
            elif len(registers) == 1:
                pdu = struct.pack(">BHH", 6, address, registers[0])
            else:
                n = len(registers)
                pdu = struct.pack(f">BHHB{n}H", 16, address, n, 2 * n, *registers)
            await self._tcp_request(self._tcp, pdu)
            return
        client = self._live()
        dev = self.unit
        if area == "coil":
            call = client.write_coil(address, bool(registers[0]), device_id=dev)
        elif len(registers) == 1:
            call = client.write_register(address, registers[0], device_id=dev)
        else:
            call = client.write_registers(address, registers, device_id=dev)
        await self._call(call)

    async def _tcp_read(
        self, tcp: ModbusTcpClient, area: ModbusArea, address: int, count: int
    ) -> Sequence[int] | list[bool]:
        fc = READ_CODES[area]
        answer = await self._tcp_request(tcp, _READ.pack(fc, address, count))
        size = len(answer) - 2
        if fc <= 2:
            if answer[0] != fc or size != answer[1] or size < (count + 7) // 8:
                raise LinkDown("comm_error", f"asked {count} bits, got a bad answer")
            return [bool(answer[2 + i // 8] >> (i % 8) & 1) for i in range(count)]
        if answer[0] != fc or size != answer[1] or size != 2 * count:
            raise LinkDown("comm_error", f"asked {count} registers, got {max(size, 0) // 2}")
        return struct.unpack_from(f">{count}H", answer, 2)

    async def _tcp_request(self, tcp: ModbusTcpClient, pdu: bytes) -> bytes:
        """One request over our TCP client: the answer's PDU, or our errors."""
        try:
            answer = await tcp.request(pdu)
        except TimeoutError as exc:
            raise LinkDown("comm_timeout", str(exc) or "no answer") from None
        except OSError as exc:  # ConnectionError included
            raise LinkDown("disconnected", str(exc) or type(exc).__name__) from None
        finally:
            _raise_if_cancelling()
        if len(answer) < 2:
            raise LinkDown("comm_error", f"answer too short ({len(answer)} bytes)")
        if answer[0] & 0x80:
            raise DeviceException(answer[1])
        return answer

    async def _call(self, call: Awaitable[Any]) -> Any:
        """Await one pymodbus request; our errors out, the response (not an error) back."""
        from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

        try:
            async with asyncio.timeout(self._guard):
                rr = await call
        except (ModbusIOException, TimeoutError) as exc:
            raise LinkDown("comm_timeout", str(exc) or "no answer") from None
        except (ConnectionException, OSError) as exc:
            raise LinkDown("disconnected", str(exc)) from None
        except ModbusException as exc:
            raise LinkDown("comm_error", str(exc)) from None
        finally:
            _raise_if_cancelling()
        if rr.isError():
            raise DeviceException(int(getattr(rr, "exception_code", 0) or 0))
        return rr


def _raise_if_cancelling() -> None:
    """pymodbus awaits with `asyncio.wait_for`, which on Python 3.11 can swallow a cancellation
    that races with a response: honour the pending cancellation anyway."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
