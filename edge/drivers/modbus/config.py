"""Configuration schema of the Modbus TCP/RTU driver."""

from typing import Literal

from pydantic import Field, model_validator

from config.base import Segment, Strict

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
    deadband: float | None = Field(default=None, ge=0)
    deadband_percent: float | None = Field(default=None, ge=0, le=100)
    max_age_s: float | None = Field(default=None, gt=0, description="heartbeat for unchanged")

    @model_validator(mode="after")
    def _check_type_fits_area(self) -> "ModbusTag":
        bit_areas = ("coil", "discrete_input")
        if self.area in bit_areas and self.type != "bool":
            raise ValueError(f"area {self.area} holds single bits: type must be bool")
        if self.type == "bit" and self.bit is None:
            raise ValueError("type bit needs `bit` (0-15)")
        if self.type == "string" and self.length is None:
            raise ValueError("type string needs `length` (registers)")
        if self.writable and self.area in ("discrete_input", "input_register"):
            raise ValueError(f"area {self.area} is read-only; cannot be writable")
        return self


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
    retries: int = Field(default=1, ge=0)
    limits: ModbusLimits = ModbusLimits()
    tags: list[ModbusTag] = Field(min_length=1)

    @model_validator(mode="after")
    def _connection_matches_driver(self) -> "ModbusDevice":
        tcp = isinstance(self.connection, ModbusTcpConnection)
        if tcp != (self.driver == "modbus_tcp"):
            raise ValueError(f"connection does not fit driver {self.driver}")
        return self
