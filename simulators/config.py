"""The simulator file (`shopfloor sim run -c FILE`): a versioned list of simulated machines.

Each machine names its `kind`; `modbus` machines are served by simulators/modbus, `opcua`
machines by simulators/opcua. Unknown keys are errors.
"""

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from config.base import Segment, Strict
from config.loader import ConfigError, read_yaml, validate_file
from simulators.behaviour import BehaviourConfig
from simulators.opcua.config import OpcUaMachineConfig


class PressModelConfig(Strict):
    stroke_rate_spm: int = Field(default=60, ge=0, le=65535, description="initial setpoint")
    ambient_c: float = 22.0
    running_c: float = Field(default=65.0, description="temperature the running press settles at")
    time_constant_s: float = Field(default=60.0, gt=0)
    noise_c: float = Field(default=0.2, ge=0, description="uniform noise amplitude")
    fault_rate_per_h: float = Field(default=0.0, ge=0, description="random trips per hour")
    auto_start: bool = Field(default=True, description="start running at once")
    recipe: str = Field(default="BRKT-200", max_length=16)


class SerialPort(Strict):
    """Serve Modbus RTU on a serial device instead of TCP (e.g. one end of a socat pty pair)."""

    port: str
    baudrate: int = 19200
    parity: Literal["N", "E", "O"] = "E"
    stopbits: Literal[1, 2] = 1


class ModbusMachineConfig(Strict):
    kind: Literal["modbus"]
    name: Segment = "press-01"
    host: str = "127.0.0.1"
    port: int = Field(default=15020, ge=1, le=65535)
    serial: SerialPort | None = Field(default=None, description="RTU instead of TCP")
    unit_id: int = Field(
        default=1, ge=1, le=247, description="machines on the same port share one gateway"
    )
    update_interval_ms: int = Field(default=200, ge=10)
    seed: int | None = None
    press: PressModelConfig = PressModelConfig()
    behaviour: BehaviourConfig = Field(
        default=BehaviourConfig(), description="setups, breakdowns, micro-stops, speed loss, scrap"
    )
    extra_registers: int = Field(
        default=0, ge=0, le=60_000, description="holding registers 100.. counting up (load tests)"
    )


Machine = Annotated[ModbusMachineConfig | OpcUaMachineConfig, Field(discriminator="kind")]


class SimulatorFile(Strict):
    version: Literal[1] = 1
    machines: list[Machine] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> "SimulatorFile":
        names = [m.name for m in self.machines]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"machine names must be unique: {', '.join(dupes)}")
        units = [
            (m.host, m.port, m.unit_id)
            for m in self.machines
            if isinstance(m, ModbusMachineConfig) and m.serial is None
        ]
        clash = sorted({u for u in units if units.count(u) > 1})
        if clash:
            host, port, unit = clash[0]
            raise ValueError(f"two machines answer unit {unit} on {host}:{port}")
        return self


class SimulatorConfigError(ConfigError):
    """The simulator file cannot be used; the message names the file, field path and problem."""


def load_simulators(path: Path | str) -> SimulatorFile:
    path = Path(path)
    try:
        return validate_file(SimulatorFile, read_yaml(path), str(path))
    except ConfigError as exc:
        raise SimulatorConfigError(exc.source, exc.problems) from None
