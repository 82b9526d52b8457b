"""A Modbus slave's data and request handling, pure: PDU bytes in, PDU bytes out.

Function codes 1-6, 15 and 16. Addresses beyond the bank, and addresses a test marked with an
exception code, answer with a Modbus exception, as a real device does.
"""

import struct
from dataclasses import dataclass, field
from typing import Any

AREAS = ("coil", "discrete_input", "input_register", "holding_register")

#: function code -> area it reads
READS = {1: "coil", 2: "discrete_input", 3: "holding_register", 4: "input_register"}
ILLEGAL_FUNCTION = 1
ILLEGAL_DATA_ADDRESS = 2
ILLEGAL_DATA_VALUE = 3


@dataclass
class RegisterBank:
    """The four data areas of one unit id. Bits are bools, registers 0..65535."""

    size: int = 1000
    coils: list[bool] = field(default_factory=list)
    discrete_inputs: list[bool] = field(default_factory=list)
    input_registers: list[int] = field(default_factory=list)
    holding_registers: list[int] = field(default_factory=list)
    #: (area, address) -> exception code answered by any request touching that address
    exceptions: dict[tuple[str, int], int] = field(default_factory=dict)
    #: holding registers written by a client since the machine last looked: address -> value
    written: dict[int, int] = field(default_factory=dict)
    written_coils: dict[int, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.size
        self.coils = self.coils or [False] * n
        self.discrete_inputs = self.discrete_inputs or [False] * n
        self.input_registers = self.input_registers or [0] * n
        self.holding_registers = self.holding_registers or [0] * n

    def area(self, name: str) -> list[Any]:
        if name == "coil":
            return self.coils
        if name == "discrete_input":
            return self.discrete_inputs
        if name == "input_register":
            return self.input_registers
        if name == "holding_register":
            return self.holding_registers
        raise KeyError(name)

    def set_registers(self, area: str, address: int, values: list[int]) -> None:
        self.area(area)[address : address + len(values)] = values

    def _problem(self, area: str, address: int, count: int) -> int | None:
        if address + count > self.size:
            return ILLEGAL_DATA_ADDRESS
        for (a, addr), code in self.exceptions.items():
            if a == area and address <= addr < address + count:
                return code
        return None


def exception_pdu(function: int, code: int) -> bytes:
    return bytes((function | 0x80, code))


def _pack_bits(bits: list[bool]) -> bytes:
    out = bytearray((len(bits) + 7) // 8)
    for i, b in enumerate(bits):
        if b:
            out[i // 8] |= 1 << (i % 8)
    return bytes(out)


def _unpack_bits(data: bytes, count: int) -> list[bool]:
    return [bool(data[i // 8] >> (i % 8) & 1) for i in range(count)]


def handle_pdu(bank: RegisterBank, pdu: bytes) -> bytes:
    """The response PDU (possibly an exception) for a request PDU."""
    if not pdu:
        return exception_pdu(0, ILLEGAL_FUNCTION)
    fc = pdu[0]
    try:
        return _handle(bank, fc, pdu)
    except (struct.error, IndexError):
        return exception_pdu(fc, ILLEGAL_DATA_VALUE)


def _handle(bank: RegisterBank, fc: int, pdu: bytes) -> bytes:
    if fc in READS:
        address, count = struct.unpack(">HH", pdu[1:5])
        limit = 2000 if fc in (1, 2) else 125
        if not 1 <= count <= limit:
            return exception_pdu(fc, ILLEGAL_DATA_VALUE)
        area = READS[fc]
        problem = bank._problem(area, address, count)
        if problem:
            return exception_pdu(fc, problem)
        data = bank.area(area)[address : address + count]
        if fc in (1, 2):
            payload = _pack_bits([bool(b) for b in data])
        else:
            payload = struct.pack(f">{count}H", *data)  # one C call for the whole block
        return bytes((fc, len(payload))) + payload
    if fc == 5:
        address, raw = struct.unpack(">HH", pdu[1:5])
        if raw not in (0x0000, 0xFF00):
            return exception_pdu(fc, ILLEGAL_DATA_VALUE)
        problem = bank._problem("coil", address, 1)
        if problem:
            return exception_pdu(fc, problem)
        bank.coils[address] = raw == 0xFF00
        bank.written_coils[address] = raw == 0xFF00
        return pdu[:5]
    if fc == 6:
        address, value = struct.unpack(">HH", pdu[1:5])
        problem = bank._problem("holding_register", address, 1)
        if problem:
            return exception_pdu(fc, problem)
        bank.holding_registers[address] = value
        bank.written[address] = value
        return pdu[:5]
    if fc == 15:
        address, count, nbytes = struct.unpack(">HHB", pdu[1:6])
        if not 1 <= count <= 1968 or nbytes != (count + 7) // 8:
            return exception_pdu(fc, ILLEGAL_DATA_VALUE)
        problem = bank._problem("coil", address, count)
        if problem:
            return exception_pdu(fc, problem)
        for i, b in enumerate(_unpack_bits(pdu[6 : 6 + nbytes], count)):
            bank.coils[address + i] = b
            bank.written_coils[address + i] = b
        return pdu[:5]
    if fc == 16:
        address, count, nbytes = struct.unpack(">HHB", pdu[1:6])
        if not 1 <= count <= 123 or nbytes != 2 * count:
            return exception_pdu(fc, ILLEGAL_DATA_VALUE)
        problem = bank._problem("holding_register", address, count)
        if problem:
            return exception_pdu(fc, problem)
        for i in range(count):
            (value,) = struct.unpack(">H", pdu[6 + 2 * i : 8 + 2 * i])
            bank.holding_registers[address + i] = value
            bank.written[address + i] = value
        return pdu[:5]
    return exception_pdu(fc, ILLEGAL_FUNCTION)


def request_length(adu: bytes) -> int | None:
    """Length of an RTU request frame (unit + PDU + CRC) starting at adu[0], or None when more
    bytes are needed to tell."""
    if len(adu) < 2:
        return None
    fc = adu[1]
    if fc in (1, 2, 3, 4, 5, 6):
        return 8
    if fc in (15, 16):
        if len(adu) < 7:
            return None
        return 9 + adu[6]
    return 4  # unknown function: unit, fc, crc -> answered with illegal function


def crc16(data: bytes) -> int:
    """Modbus RTU CRC-16 (poly 0xA001, init 0xFFFF); sent low byte first."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc
