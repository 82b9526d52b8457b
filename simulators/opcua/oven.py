"""The physics of the simulated curing oven: pure, stepped by the server loop."""

import random
from dataclasses import dataclass
from enum import StrEnum

from simulators.behaviour import MachineState, Production
from simulators.opcua.config import OvenModelConfig


class OvenState(StrEnum):
    IDLE = "IDLE"
    HEATING = "HEATING"
    READY = "READY"
    DOOR_OPEN = "DOOR_OPEN"
    FAULT = "FAULT"


@dataclass(slots=True)
class Oven:
    """First-order heating towards the setpoint; the open door loses heat.

    `held` pins the temperature (an injected excursion) until released. With a `production`
    behaviour a breakdown switches the heater off and a setup opens the door (racks changed);
    the parts it cures are counted good or scrap.
    """

    cfg: OvenModelConfig
    temperature: float
    setpoint: float
    door_open: bool = False
    heater_on: bool = True
    held: float | None = None
    batch_count: int = 0
    production: Production | None = None
    good_count: int = 0
    scrap_count: int = 0

    @classmethod
    def from_config(cls, cfg: OvenModelConfig) -> "Oven":
        return cls(cfg, cfg.start_c, cfg.setpoint_c)

    @property
    def fault_code(self) -> int:
        return self.production.fault_code if self.production is not None else 0

    @property
    def machine_state(self) -> MachineState:
        """The shared state code (simulators/behaviour.py); without a behaviour the oven runs
        while its heater is on and its door shut."""
        if self.production is not None:
            return self.production.shown_state
        on = self.heater_on and not self.door_open
        return MachineState.RUNNING if on else MachineState.IDLE

    @property
    def state(self) -> OvenState:
        if self.fault_code:
            return OvenState.FAULT
        if self.door_open:
            return OvenState.DOOR_OPEN
        if not self.heater_on:
            return OvenState.IDLE
        if abs(self.temperature - self.setpoint) <= self.cfg.ready_band_c:
            return OvenState.READY
        return OvenState.HEATING

    @property
    def heater_power(self) -> float:
        """Percent: proportional to the remaining gap, 0 with the heater off."""
        if not self.heater_on:
            return 0.0
        gap = self.setpoint - self.temperature
        return max(0.0, min(100.0, gap * 2.0))

    def step(self, dt_s: float, rng: random.Random) -> None:
        if self.production is not None:
            good, scrap = self.production.advance(dt_s, self.cfg.parts_per_min)
            self.good_count = (self.good_count + good) % 2**32
            self.scrap_count = (self.scrap_count + scrap) % 2**32
            self.heater_on = self.production.state is not MachineState.FAULT
            self.open_door(self.production.shown_state is MachineState.SETUP)
        if self.held is not None:
            self.temperature = self.held
            return
        target = self.setpoint if self.heater_on else self.cfg.ambient_c
        alpha = min(1.0, dt_s / self.cfg.time_constant_s)
        t = self.temperature + (target - self.temperature) * alpha
        if self.door_open:
            t -= self.cfg.door_loss_c_per_s * dt_s
            t = max(t, self.cfg.ambient_c)
        if self.cfg.noise_c:
            t += rng.uniform(-self.cfg.noise_c, self.cfg.noise_c)
        self.temperature = t

    def open_door(self, is_open: bool) -> None:
        if self.door_open and not is_open:
            self.batch_count += 1  # a batch is unloaded/loaded each door cycle
        self.door_open = is_open
