"""A stamping press, pure: a state machine (idle/running/fault), a cycle counter, spindle speed
and temperature with noise. No I/O: the server copies `values()` into registers."""

import random
from dataclasses import dataclass
from enum import IntEnum


class PressState(IntEnum):
    IDLE = 0
    RUNNING = 1
    FAULT = 2


class IllegalTransition(Exception):
    """An event the press cannot take in its current state."""


#: (state, event) -> next state
TRANSITIONS: dict[tuple[PressState, str], PressState] = {
    (PressState.IDLE, "start"): PressState.RUNNING,
    (PressState.RUNNING, "stop"): PressState.IDLE,
    (PressState.RUNNING, "trip"): PressState.FAULT,
    (PressState.IDLE, "trip"): PressState.FAULT,
    (PressState.FAULT, "reset"): PressState.IDLE,
}


@dataclass
class Press:
    stroke_rate_spm: int = 60
    ambient_c: float = 22.0
    running_c: float = 65.0
    time_constant_s: float = 60.0
    noise_c: float = 0.2
    fault_rate_per_h: float = 0.0
    state: PressState = PressState.IDLE
    cycle_count: int = 0
    total_strokes: int = 0
    spindle_speed: float = 0.0
    temperature: float = 22.0
    energy_kwh: float = 0.0
    _stroke_phase: float = 0.0

    def fire(self, event: str) -> PressState:
        try:
            self.state = TRANSITIONS[(self.state, event)]
        except KeyError:
            raise IllegalTransition(f"press cannot {event} while {self.state.name}") from None
        if self.state is not PressState.RUNNING:
            self.spindle_speed = 0.0
        return self.state

    def step(self, dt_s: float, rng: random.Random) -> None:
        """Advance the model by `dt_s` seconds."""
        running = self.state is PressState.RUNNING
        if running:
            self._stroke_phase += dt_s * self.stroke_rate_spm / 60.0
            strokes = int(self._stroke_phase)
            self._stroke_phase -= strokes
            self.cycle_count = (self.cycle_count + strokes) % 2**32
            self.total_strokes += strokes
            self.spindle_speed = max(0.0, self.stroke_rate_spm * 20.0 + rng.uniform(-5.0, 5.0))
            self.energy_kwh += dt_s * 15.0 / 3600.0
            if self.fault_rate_per_h and rng.random() < self.fault_rate_per_h * dt_s / 3600.0:
                self.fire("trip")
        target = self.running_c if running else self.ambient_c
        alpha = min(1.0, dt_s / self.time_constant_s)
        self.temperature += (target - self.temperature) * alpha
        self.temperature += rng.uniform(-self.noise_c, self.noise_c)
