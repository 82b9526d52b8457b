"""A stamping press, pure: a state machine (idle/running/fault), a cycle counter, spindle speed
and temperature with noise. No I/O: the server copies `values()` into registers.

With a `Production` behaviour (simulators/behaviour.py) the behaviour decides the state (setups,
micro-stops, breakdowns, starved/blocked), the actual stroke rate and which strokes are scrap;
the commands still stop (hold) and start it."""

import random
from dataclasses import dataclass

from simulators.behaviour import MachineState, Production

#: the press's state codes are the shared machine states (0 idle, 1 running, 2 fault, 3 setup,
#: 4 micro-stop, 5 starved, 6 blocked); without a behaviour only the first three occur
PressState = MachineState
#: the fault code of a trip without a behaviour (`fault_rate_per_h` or the `trip` command)
TRIP_CODE = 1


class IllegalTransition(Exception):
    """An event the press cannot take in its current state."""


#: (state, event) -> next state
TRANSITIONS: dict[tuple[PressState, str], PressState] = {
    (PressState.IDLE, "start"): PressState.RUNNING,
    (PressState.RUNNING, "stop"): PressState.IDLE,
    (PressState.RUNNING, "trip"): PressState.FAULT,
    (PressState.IDLE, "trip"): PressState.FAULT,
    (PressState.FAULT, "reset"): PressState.IDLE,
    **{
        (s, e): n
        for s in (PressState.SETUP, PressState.MICRO_STOP, PressState.STARVED, PressState.BLOCKED)
        for e, n in (("stop", PressState.IDLE), ("trip", PressState.FAULT))
    },
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
    good_count: int = 0
    scrap_count: int = 0
    fault_code: int = 0
    spindle_speed: float = 0.0
    temperature: float = 22.0
    energy_kwh: float = 0.0
    behaviour: Production | None = None
    _stroke_phase: float = 0.0

    def fire(self, event: str) -> PressState:
        try:
            self.state = TRANSITIONS[(self.state, event)]
        except KeyError:
            raise IllegalTransition(f"press cannot {event} while {self.state.name}") from None
        b = self.behaviour
        if b is not None:
            if event == "trip":
                b.trip()
            elif event == "reset":
                b.clear_fault()
            b.hold(self.state is PressState.IDLE)
            self.state = b.shown_state
            self.fault_code = b.fault_code
        else:
            self.fault_code = TRIP_CODE if self.state is PressState.FAULT else 0
        if self.state is not PressState.RUNNING:
            self.spindle_speed = 0.0
        return self.state

    def _count(self, good: int, scrap: int) -> None:
        strokes = good + scrap
        self.cycle_count = (self.cycle_count + strokes) % 2**32
        self.total_strokes += strokes
        self.good_count = (self.good_count + good) % 2**32
        self.scrap_count = (self.scrap_count + scrap) % 2**32

    def step(self, dt_s: float, rng: random.Random) -> None:
        """Advance the model by `dt_s` seconds."""
        factor = 1.0
        if self.behaviour is not None:
            self._count(*self.behaviour.advance(dt_s, self.stroke_rate_spm))
            self.state = self.behaviour.shown_state
            self.fault_code = self.behaviour.fault_code
            factor = self.behaviour.rate_factor
        running = self.state is PressState.RUNNING
        if running:
            if self.behaviour is None:
                self._stroke_phase += dt_s * self.stroke_rate_spm / 60.0
                strokes = int(self._stroke_phase)
                self._stroke_phase -= strokes
                self._count(strokes, 0)
            speed = self.stroke_rate_spm * factor * 20.0
            self.spindle_speed = max(0.0, speed + rng.uniform(-5.0, 5.0))
            self.energy_kwh += dt_s * 15.0 / 3600.0
            if self.fault_rate_per_h and rng.random() < self.fault_rate_per_h * dt_s / 3600.0:
                self.fire("trip")
        else:
            self.spindle_speed = 0.0
        target = self.running_c if running else self.ambient_c
        alpha = min(1.0, dt_s / self.time_constant_s)
        self.temperature += (target - self.temperature) * alpha
        self.temperature += rng.uniform(-self.noise_c, self.noise_c)
