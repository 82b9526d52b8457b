"""Configuration schema of the Modbus TCP/RTU driver (part of plant schema version 1).

One style per concept: a tag names its area, its start address, its type and (optionally) its
byte order; everything else has a default here. Unknown keys are errors.
"""

from collections.abc import Mapping
from typing import Literal

from pydantic import Field, model_validator

from config.base import Segment, Strict
from config.security import WriteLimits
from edge.drivers.base import stale_after_polls
from edge.drivers.modbus.codec import Layout, order_problem

ModbusArea = Literal["coil", "discrete_input", "input_register", "holding_register"]
ModbusType = Literal[
    "bool",
    "bit",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float32",
    "float64",
    "string",
]
#: Byte/word order, named by where the big-endian bytes A, B, C, ... land.
ByteOrder = Literal[
    "AB", "BA", "ABCD", "BADC", "CDAB", "DCBA", "ABCDEFGH", "BADCFEHG", "GHEFCDAB", "HGFEDCBA"
]


class ModbusTag(Strict):
    name: Segment
    area: ModbusArea = "holding_register"
    address: int = Field(ge=0, le=65535)
    type: ModbusType = "uint16"
    bit: int | None = Field(default=None, ge=0, le=15, description="bit index for type=bit")
    length: int | None = Field(default=None, ge=1, le=125, description="registers, type=string")
    order: ByteOrder | None = Field(default=None, description="default: big-endian (ABCD...)")
    scale: float = 1.0
    offset: float = 0.0
    unit: str | None = None
    writable: bool = False
    limits: WriteLimits | None = None  # writes outside are refused (config/security.py)
    deadband: float | None = Field(default=None, ge=0)
    deadband_percent: float | None = Field(default=None, ge=0, le=100)
    max_age_s: float | None = Field(default=None, gt=0, description="heartbeat for unchanged")
    stale_after_s: float | None = Field(
        default=None, gt=0, description="stale when no value for this long; default 3 polls"
    )
    poll_interval_ms: int | None = Field(
        default=None, ge=10, description="own polling group; default: the device's interval"
    )

    @model_validator(mode="after")
    def _check_type_fits_area(self) -> "ModbusTag":
        bit_areas = ("coil", "discrete_input")
        if self.area in bit_areas and self.type != "bool":
            raise ValueError(f"area {self.area} holds single bits: type must be bool")
        if self.type == "bit" and self.bit is None:
            raise ValueError("type bit needs `bit` (0-15)")
        if self.type != "bit" and self.bit is not None:
            raise ValueError("`bit` is only for type bit")
        if self.type == "string" and self.length is None:
            raise ValueError("type string needs `length` (registers)")
        if self.type != "string" and self.length is not None:
            raise ValueError("`length` is only for type string")
        problem = order_problem(self.type, self.order)
        if problem:
            raise ValueError(problem)
        if self.writable and self.area in ("discrete_input", "input_register"):
            raise ValueError(f"area {self.area} is read-only; cannot be writable")
        if self.writable and self.type == "bit":
            raise ValueError(
                "a bit inside a register cannot be writable (read-modify-write races the device)"
            )
        if self.deadband is not None and self.deadband_percent is not None:
            raise ValueError("give deadband or deadband_percent, not both")
        return self

    @property
    def layout(self) -> Layout:
        return Layout(self.type, self.order, self.bit, self.length, self.scale, self.offset)

    @property
    def is_bit_area(self) -> bool:
        return self.area in ("coil", "discrete_input")

    @property
    def size(self) -> int:
        """Registers (or bits) the tag spans."""
        return 1 if self.is_bit_area else self.layout.registers


class ModbusLimits(Strict):
    """Per-device limits for quirky devices."""

    max_registers_per_read: int = Field(default=125, ge=1, le=125)
    max_bits_per_read: int = Field(default=2000, ge=1, le=2000)
    max_gap: int = Field(default=10, ge=0, description="unused registers a merged read may span")
    one_tag_per_request: bool = False
    pause_between_requests_ms: int = Field(default=0, ge=0)
    reconnect_after_poll: bool = False


class ModbusTcpConnection(Strict):
    host: str
    port: int = Field(default=502, ge=1, le=65535)


class ModbusRtuConnection(Strict):
    port: str = Field(description="serial device, e.g. /dev/ttyUSB0")
    baudrate: int = 19200
    parity: Literal["N", "E", "O"] = "E"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8


class ModbusDevice(Strict):
    name: Segment
    path: str = Field(description="area/line/cell the device sits in")
    driver: Literal["modbus_tcp", "modbus_rtu"]
    connection: ModbusTcpConnection | ModbusRtuConnection
    unit_id: int = Field(default=1, ge=0, le=247)
    addressing: Literal[0, 1] = Field(default=0, description="0- or 1-based register numbers")
    poll_interval_ms: int = Field(default=1000, ge=10)
    timeout_ms: int = Field(default=1000, ge=10)
    retries: int = Field(default=1, ge=0, description="re-sends of a request that timed out")
    reconnect_min_ms: int = Field(default=500, ge=10, description="first reconnect delay")
    reconnect_max_ms: int = Field(default=30_000, ge=10, description="backoff ceiling")
    limits: ModbusLimits = ModbusLimits()
    tags: list[ModbusTag] = Field(min_length=1)

    @model_validator(mode="after")
    def _connection_matches_driver(self) -> "ModbusDevice":
        if self.reconnect_max_ms < self.reconnect_min_ms:
            raise ValueError("reconnect_max_ms must not be below reconnect_min_ms")
        tcp = isinstance(self.connection, ModbusTcpConnection)
        if tcp != (self.driver == "modbus_tcp"):
            raise ValueError(f"connection does not fit driver {self.driver}")
        last_register = 65535 + self.addressing
        for tag in self.tags:
            if tag.address < self.addressing:
                raise ValueError(
                    f"tag {tag.name!r}: address {tag.address} is outside the "
                    f"{self.addressing}-based range of this device"
                )
            if tag.address + tag.size - 1 > last_register:
                raise ValueError(
                    f"tag {tag.name!r}: {tag.type} at {tag.address} needs {tag.size} registers "
                    f"and runs past the last register {last_register}"
                )
            limit = self.limits.max_bits_per_read if tag.is_bit_area else None
            limit = limit or self.limits.max_registers_per_read
            if tag.size > limit:
                raise ValueError(
                    f"tag {tag.name!r} spans {tag.size} registers, more than "
                    f"limits.max_registers_per_read ({limit})"
                )
        return self

    def stale_after_ms(self) -> Mapping[str, int | None]:
        attempts = self.retries + 1
        return {
            t.name: round(t.stale_after_s * 1000)
            if t.stale_after_s
            else stale_after_polls(
                t.poll_interval_ms or self.poll_interval_ms, self.timeout_ms, attempts
            )
            for t in self.tags
        }

    def tag(self, name: str) -> ModbusTag:
        for t in self.tags:
            if t.name == name:
                return t
        raise KeyError(name)
