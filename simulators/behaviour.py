"""Production behaviour of a simulated machine, pure: what a real press or oven does over a shift.

A seeded state sequence: running (below the ideal rate by `speed_factor`, with random
slow-downs), micro-stops, breakdowns with a fault code (time between failures exponential over
running time, repair time lognormal), setups (on a recipe change or every `setup_interval_s` of
running time), starved/blocked idle, and each part good or scrap. No I/O and no wall clock: the
caller advances it by elapsed seconds (`advance`), which `time_scale` multiplies, so tests run
hundreds of hours in a moment. Events are drawn per state change, not per step, so the sequence
depends on the seed only, not on how finely it is stepped.
"""

import math
import random
from enum import IntEnum

from pydantic import Field, model_validator

from config.base import Strict


class MachineState(IntEnum):
    """The state code a simulated machine publishes (the press's `state` register)."""

    IDLE = 0  # stopped by command (no order, operator stop)
    RUNNING = 1
    FAULT = 2  # breakdown, `fault_code` says why
    SETUP = 3  # changeover
    MICRO_STOP = 4  # short stop (jam, misfeed) without a fault code
    STARVED = 5  # waiting for material
    BLOCKED = 6  # output full


class BehaviourConfig(Strict):
    """`behaviour:` of a simulated machine. Times are model seconds (see `time_scale`)."""

    enabled: bool = Field(default=False, description="off: the machine runs as before")
    time_scale: float = Field(
        default=1.0, gt=0, description="model seconds per real second (>1 also speeds up counts)"
    )
    speed_factor: float = Field(
        default=0.9, gt=0, le=1, description="actual / ideal rate while running normally"
    )
    slowdowns_per_h: float = Field(default=2.0, ge=0, description="per hour of running")
    slowdown_mean_s: float = Field(default=120.0, gt=0, description="exponential")
    slowdown_factor: float = Field(
        default=0.6, gt=0, le=1, description="actual / ideal rate during a slow-down"
    )
    micro_stops_per_h: float = Field(default=12.0, ge=0, description="per hour of running")
    micro_stop_min_s: float = Field(default=2.0, gt=0)
    micro_stop_max_s: float = Field(default=10.0, gt=0, description="uniform between min and max")
    mtbf_s: float = Field(default=7200.0, gt=0, description="mean running time between failures")
    mttr_s: float = Field(default=600.0, gt=0, description="mean time to repair (lognormal)")
    repair_sigma: float = Field(default=0.5, ge=0, description="lognormal shape of repairs")
    fault_codes: list[int] = Field(
        default=[101, 102, 103, 104], min_length=1, description="a breakdown picks one"
    )
    setup_interval_s: float | None = Field(
        default=14400.0, gt=0, description="running time between changeovers (null: never)"
    )
    setup_mean_s: float = Field(default=900.0, gt=0, description="mean setup time (lognormal)")
    setup_sigma: float = Field(default=0.3, ge=0)
    recipes: list[str] = Field(
        default=[], description="a scheduled changeover moves to the next one (cyclic)"
    )
    idle_per_h: float = Field(default=1.0, ge=0, description="starved/blocked per running hour")
    idle_mean_s: float = Field(default=180.0, gt=0, description="exponential")
    scrap_rate: float = Field(default=0.02, ge=0, le=1, description="share of parts scrapped")

    @model_validator(mode="after")
    def _check(self) -> "BehaviourConfig":
        if self.micro_stop_max_s < self.micro_stop_min_s:
            raise ValueError("micro_stop_max_s must not be below micro_stop_min_s")
        bad = [c for c in self.fault_codes if not 1 <= c <= 65535]
        if bad:
            raise ValueError(f"fault codes must be 1..65535 (a uint16, 0 is no fault): {bad}")
        return self


def expected_shares(cfg: BehaviourConfig) -> dict[MachineState, float]:
    """The long-run share of time in each state (never held idle by command)."""
    per_running_s = {
        MachineState.RUNNING: 1.0,
        MachineState.FAULT: cfg.mttr_s / cfg.mtbf_s,
        MachineState.MICRO_STOP: cfg.micro_stops_per_h
        / 3600
        * (cfg.micro_stop_min_s + cfg.micro_stop_max_s)
        / 2,
        MachineState.SETUP: cfg.setup_mean_s / cfg.setup_interval_s if cfg.setup_interval_s else 0,
        MachineState.STARVED: cfg.idle_per_h / 3600 * cfg.idle_mean_s / 2,
        MachineState.BLOCKED: cfg.idle_per_h / 3600 * cfg.idle_mean_s / 2,
    }
    total = sum(per_running_s.values())
    return {s: v / total for s, v in per_running_s.items()}


_EPS = 1e-9


class Production:
    """One machine's behaviour; `state`, `fault_code`, `recipe`, `good`, `scrap` are its outputs."""

    def __init__(self, cfg: BehaviourConfig, seed: int | None = None, recipe: str = "") -> None:
        self.cfg = cfg
        base = random.Random(seed)
        self._events = random.Random(base.getrandbits(64))  # state changes and their durations
        self._quality = random.Random(base.getrandbits(64))  # good or scrap, part by part
        self.state = MachineState.RUNNING
        self.fault_code = 0
        self.recipe = recipe
        self.held = False
        self.good = 0
        self.scrap = 0
        self.clock_s = 0.0
        self.time_in = dict.fromkeys(MachineState, 0.0)
        self.entered = dict.fromkeys(MachineState, 0)
        self.entered[MachineState.RUNNING] = 1
        self._left_s = 0.0  # time left in a stopped state
        self._slow_left_s = 0.0
        self._parts = 0.0
        self._until = {
            "breakdown": self._exp(3600 / cfg.mtbf_s),
            "micro_stop": self._exp(cfg.micro_stops_per_h),
            "idle": self._exp(cfg.idle_per_h),
            "setup": cfg.setup_interval_s or math.inf,
            "slowdown": self._exp(cfg.slowdowns_per_h),
        }

    # -- what the machine shows -----------------------------------------------------------

    @property
    def shown_state(self) -> MachineState:
        return MachineState.IDLE if self.held else self.state

    @property
    def rate_factor(self) -> float:
        """Actual / ideal rate now (0 when not running)."""
        if self.shown_state is not MachineState.RUNNING:
            return 0.0
        return self.cfg.slowdown_factor if self._slow_left_s > 0 else self.cfg.speed_factor

    # -- commands -------------------------------------------------------------------------

    def hold(self, held: bool) -> None:
        """Stopped by command (idle, nothing happens) or released (carries on where it was)."""
        self.held = held

    def change_recipe(self, recipe: str) -> None:
        """A new recipe: a changeover (setup) starts now, unless the recipe is the same."""
        if recipe != self.recipe:
            self.recipe = recipe
            setup = self._lognormal(self.cfg.setup_mean_s, self.cfg.setup_sigma)
            self._enter(MachineState.SETUP, setup)

    def trip(self, code: int | None = None) -> None:
        """A breakdown now (with `code`, or one of the configured codes)."""
        self._breakdown(code)

    def clear_fault(self) -> None:
        """The fault is repaired now."""
        if self.state is MachineState.FAULT:
            self._enter(MachineState.RUNNING, 0.0)

    # -- time -----------------------------------------------------------------------------

    def advance(self, dt_s: float, ideal_per_min: float) -> tuple[int, int]:
        """Move on by `dt_s` seconds (times `time_scale`) at an ideal rate of `ideal_per_min`
        parts per minute; returns the (good, scrap) parts made meanwhile."""
        left = max(0.0, dt_s) * self.cfg.time_scale
        while left > 0:
            if self.held:
                self._spend(MachineState.IDLE, left)
                break
            if self.state is MachineState.RUNNING:
                step = min(left, *self._until.values())
                if self._slow_left_s > 0:
                    step = min(step, self._slow_left_s)
                self._parts += step * max(0.0, ideal_per_min) / 60 * self.rate_factor
                self._slow_left_s = max(0.0, self._slow_left_s - step)
                for k in self._until:
                    self._until[k] -= step
                self._spend(MachineState.RUNNING, step)
                left -= step
                for event, until in self._until.items():
                    if until <= _EPS:
                        self._event(event)
                        break
            else:
                step = min(left, self._left_s)
                self._spend(self.state, step)
                self._left_s -= step
                left -= step
                if self._left_s <= _EPS:
                    self._enter(MachineState.RUNNING, 0.0)
        return self._make_parts()

    # -- internals ------------------------------------------------------------------------

    def _spend(self, state: MachineState, seconds: float) -> None:
        self.time_in[state] += seconds
        self.clock_s += seconds

    def _make_parts(self) -> tuple[int, int]:
        n = int(self._parts)
        self._parts -= n
        scrap = sum(1 for _ in range(n) if self._quality.random() < self.cfg.scrap_rate)
        self.good = (self.good + n - scrap) % 2**32
        self.scrap = (self.scrap + scrap) % 2**32
        return n - scrap, scrap

    def _enter(self, state: MachineState, seconds: float) -> None:
        if state is not self.state:
            self.entered[state] += 1
        self.state = state
        self._left_s = seconds
        if state is not MachineState.FAULT:
            self.fault_code = 0

    def _exp(self, per_h: float) -> float:
        return self._events.expovariate(per_h / 3600) if per_h > 0 else math.inf

    def _lognormal(self, mean: float, sigma: float) -> float:
        return self._events.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)

    def _breakdown(self, code: int | None) -> None:
        self._enter(MachineState.FAULT, self._lognormal(self.cfg.mttr_s, self.cfg.repair_sigma))
        self.fault_code = code if code is not None else self._events.choice(self.cfg.fault_codes)

    def _event(self, event: str) -> None:
        cfg, rng = self.cfg, self._events
        if event == "breakdown":
            self._until[event] = self._exp(3600 / cfg.mtbf_s)
            self._breakdown(None)
        elif event == "micro_stop":
            self._until[event] = self._exp(cfg.micro_stops_per_h)
            self._enter(
                MachineState.MICRO_STOP, rng.uniform(cfg.micro_stop_min_s, cfg.micro_stop_max_s)
            )
        elif event == "idle":
            self._until[event] = self._exp(cfg.idle_per_h)
            state = MachineState.STARVED if rng.random() < 0.5 else MachineState.BLOCKED
            self._enter(state, rng.expovariate(1 / cfg.idle_mean_s))
        elif event == "setup":
            self._until[event] = cfg.setup_interval_s or math.inf
            if cfg.recipes:
                i = cfg.recipes.index(self.recipe) + 1 if self.recipe in cfg.recipes else 0
                self.recipe = cfg.recipes[i % len(cfg.recipes)]
            self._enter(MachineState.SETUP, self._lognormal(cfg.setup_mean_s, cfg.setup_sigma))
        else:  # slowdown: running continues at the slow-down factor for a while
            self._until[event] = self._exp(cfg.slowdowns_per_h)
            self._slow_left_s = max(self._slow_left_s, rng.expovariate(1 / cfg.slowdown_mean_s))
