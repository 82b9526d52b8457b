"""The press's register map: one table that the simulator writes and tests/configs read.

Addresses are 0-based protocol addresses. Several values appear more than once in other byte
orders, so a driver can be checked against every order from one machine.
"""

from dataclasses import dataclass
from typing import Any

from edge.drivers.modbus.codec import Layout


@dataclass(frozen=True, slots=True)
class PressRegister:
    name: str
    area: str
    address: int
    type: str
    source: str
    order: str | None = None
    scale: float = 1.0
    length: int | None = None
    bit: int | None = None
    unit: str | None = None
    writable: bool = False
    limits: tuple[float, float] | None = None  # write limits (min, max) of a writable number

    @property
    def layout(self) -> Layout:
        return Layout(self.type, self.order, self.bit, self.length, self.scale)

    def tag(self) -> dict[str, Any]:
        """This register as a Modbus tag of the plant config."""
        out: dict[str, Any] = {
            "name": self.name,
            "area": self.area,
            "address": self.address,
            "type": self.type,
        }
        for key in ("order", "length", "bit", "unit"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.scale != 1.0:
            out["scale"] = self.scale
        if self.writable:
            out["writable"] = True
        if self.limits is not None:
            out["limits"] = {"min": self.limits[0], "max": self.limits[1]}
        return out


HR = "holding_register"
#: every value the press publishes; `source` names the model attribute
PRESS_MAP: tuple[PressRegister, ...] = (
    PressRegister("state", HR, 0, "uint16", "state"),
    PressRegister("cycle_count", HR, 1, "uint32", "cycle_count"),
    PressRegister("spindle_speed", HR, 3, "float32", "spindle_speed", unit="rpm"),
    PressRegister("temperature", HR, 5, "float32", "temperature", "CDAB", unit="degC"),
    PressRegister("temperature_x10", HR, 7, "int16", "temperature", scale=0.1, unit="degC"),
    PressRegister(
        "stroke_rate_setpoint",
        HR,
        10,
        "uint16",
        "stroke_rate_spm",
        unit="spm",
        writable=True,
        limits=(0, 150),
    ),
    PressRegister("total_strokes", HR, 12, "uint64", "total_strokes"),
    PressRegister("energy", HR, 16, "float64", "energy_kwh", "HGFEDCBA", unit="kWh"),
    PressRegister("temperature_badc", HR, 20, "float32", "temperature", "BADC", unit="degC"),
    PressRegister("temperature_dcba", HR, 22, "float32", "temperature", "DCBA", unit="degC"),
    PressRegister("cycle_count_cdab", HR, 24, "uint32", "cycle_count", "CDAB"),
    PressRegister("total_strokes_ghef", HR, 26, "int64", "total_strokes", "GHEFCDAB"),
    PressRegister("recipe", HR, 30, "string", "recipe", length=8),
    PressRegister("running_bit", HR, 38, "bit", "running", bit=0),
    PressRegister("fault_bit", HR, 38, "bit", "faulted", bit=1),
    PressRegister("fault_code", HR, 40, "uint16", "fault_code"),
    PressRegister("good_count", HR, 41, "uint32", "good_count"),
    PressRegister("scrap_count", HR, 43, "uint32", "scrap_count"),
    PressRegister("temperature_in", "input_register", 0, "float32", "temperature", unit="degC"),
    PressRegister("fault", "coil", 0, "bool", "faulted"),
    PressRegister("run_command", "coil", 1, "bool", "running", writable=True),
    PressRegister("running", "discrete_input", 0, "bool", "running"),
)
#: the status word at HR 38 holds running (bit 0) and fault (bit 1)
STATUS_WORD = 38
#: first holding register of the load-test block (`extra_registers`)
EXTRA_BASE = 100


def press_register(name: str) -> PressRegister:
    for r in PRESS_MAP:
        if r.name == name:
            return r
    raise KeyError(name)
