"""The simulated machines' production behaviour (simulators/behaviour.py), pure: hundreds of
simulated hours stepped in a moment."""

import random

import pytest
from pydantic import ValidationError

from simulators.behaviour import BehaviourConfig, MachineState, Production, expected_shares
from simulators.config import ModbusMachineConfig
from simulators.modbus.machine import PressMachine
from simulators.modbus.press import Press

HOURS = 600
S = MachineState


def run(
    cfg: BehaviourConfig, seed: int = 3, hours: float = HOURS, dt_s: float = 10.0
) -> Production:
    p = Production(cfg, seed, "BRKT-200")
    for _ in range(int(hours * 3600 / dt_s)):
        p.advance(dt_s, 60.0)
    return p


@pytest.fixture(scope="module")
def day_after_day() -> Production:
    return run(BehaviourConfig(enabled=True))


def test_time_in_each_state_follows_the_configured_rates(day_after_day: Production) -> None:
    p, cfg = day_after_day, day_after_day.cfg
    total = sum(p.time_in.values())
    assert total == pytest.approx(HOURS * 3600)
    expected = expected_shares(cfg)
    assert expected[S.RUNNING] == pytest.approx(0.82, abs=0.01)  # the defaults lose ~18 %
    for state, share in expected.items():
        assert p.time_in[state] / total == pytest.approx(share, abs=0.008), state.name
    assert p.time_in[S.IDLE] == 0.0
    # MTBF over running time and MTTR over the breakdowns, as configured
    breakdowns = p.entered[S.FAULT]
    assert p.time_in[S.RUNNING] / breakdowns == pytest.approx(cfg.mtbf_s, rel=0.12)
    assert p.time_in[S.FAULT] / breakdowns == pytest.approx(cfg.mttr_s, rel=0.12)
    micro = p.time_in[S.MICRO_STOP] / p.entered[S.MICRO_STOP]
    assert cfg.micro_stop_min_s <= micro <= cfg.micro_stop_max_s
    assert micro == pytest.approx(6.0, rel=0.05)
    assert p.entered[S.SETUP] == pytest.approx(p.time_in[S.RUNNING] / cfg.setup_interval_s, abs=1)


def test_speed_loss_shows_in_the_count_rate(day_after_day: Production) -> None:
    p, cfg = day_after_day, day_after_day.cfg
    made = p.good + p.scrap
    ideal = p.time_in[S.RUNNING] / 60 * 60.0  # 60 parts a minute of running
    slow = cfg.slowdowns_per_h * cfg.slowdown_mean_s / 3600
    factor = cfg.speed_factor * (1 - slow) + cfg.slowdown_factor * slow
    assert made / ideal == pytest.approx(factor, rel=0.01)
    assert made / ideal < cfg.speed_factor  # the slow-downs cost more than the steady loss
    steady = run(BehaviourConfig(enabled=True, slowdowns_per_h=0, speed_factor=0.8), hours=50)
    assert (steady.good + steady.scrap) / steady.time_in[S.RUNNING] == pytest.approx(0.8, 1e-3)


def test_scrap_share_is_the_configured_rate(day_after_day: Production) -> None:
    p = day_after_day
    assert p.scrap / (p.good + p.scrap) == pytest.approx(p.cfg.scrap_rate, abs=0.001)
    clean = run(BehaviourConfig(enabled=True, scrap_rate=0.0), hours=5)
    assert (clean.scrap, clean.good > 0) == (0, True)


def test_same_seed_same_shift_whatever_the_step() -> None:
    cfg = BehaviourConfig(enabled=True)
    a, b = run(cfg, seed=9, hours=40), run(cfg, seed=9, hours=40)
    assert (a.time_in, a.entered, a.good, a.scrap) == (b.time_in, b.entered, b.good, b.scrap)
    coarse = run(cfg, seed=9, hours=40, dt_s=90.0)  # a slow loop sees the same day
    assert coarse.entered == a.entered
    for state in S:
        assert coarse.time_in[state] == pytest.approx(a.time_in[state], abs=1e-3)
    assert abs((coarse.good + coarse.scrap) - (a.good + a.scrap)) <= 1
    other = run(cfg, seed=10, hours=40)
    assert other.entered != a.entered


def test_time_scale_runs_model_time_faster() -> None:
    p = Production(BehaviourConfig(enabled=True, time_scale=3600, scrap_rate=0), seed=1)
    good, scrap = p.advance(1.0, 60.0)  # one real second: one model hour
    assert p.clock_s == pytest.approx(3600)
    assert (good, scrap) == (p.good, 0)
    assert 2000 < good < 3600


def test_commands_hold_trip_clear_and_change_recipe() -> None:
    cfg = BehaviourConfig(enabled=True, mtbf_s=1e9, micro_stops_per_h=0, idle_per_h=0)
    p = Production(cfg, seed=1, recipe="A")
    p.hold(True)
    assert (p.shown_state, p.rate_factor) == (S.IDLE, 0)
    assert p.advance(600, 60) == (0, 0)
    assert (p.time_in[S.IDLE], p.time_in[S.RUNNING]) == (600, 0)
    p.hold(False)
    p.trip(555)
    assert (p.shown_state, p.fault_code) == (S.FAULT, 555)
    p.clear_fault()
    assert (p.state, p.fault_code) == (S.RUNNING, 0)
    p.change_recipe("A")
    assert p.state is S.RUNNING  # same recipe: no changeover
    p.change_recipe("B")
    assert (p.state, p.recipe) == (S.SETUP, "B")
    p.advance(24 * 3600, 60)
    assert p.state is S.RUNNING  # the setup ended by itself


def test_breakdowns_pick_configured_codes_and_setups_cycle_recipes() -> None:
    cfg = BehaviourConfig(
        enabled=True, mtbf_s=600, fault_codes=[7, 8], setup_interval_s=900, recipes=["X", "Y"]
    )
    p = Production(cfg, seed=2, recipe="X")
    codes: set[int] = set()
    recipes: list[str] = []
    for _ in range(3 * 3600):
        p.advance(1, 60)
        if p.state is S.FAULT:
            codes.add(p.fault_code)
        else:
            assert p.fault_code == 0
        if p.state is S.SETUP and (not recipes or recipes[-1] != p.recipe):
            recipes.append(p.recipe)
    assert codes == {7, 8}
    assert recipes[:3] == ["Y", "X", "Y"]


def test_config_is_strict_and_off_by_default() -> None:
    assert ModbusMachineConfig(kind="modbus").behaviour.enabled is False
    with pytest.raises(ValidationError, match=r"behaviour\.mtbf_h"):
        ModbusMachineConfig.model_validate({"kind": "modbus", "behaviour": {"mtbf_h": 2}})
    with pytest.raises(ValidationError, match="micro_stop_max_s must not be below"):
        BehaviourConfig(micro_stop_min_s=5, micro_stop_max_s=2)
    with pytest.raises(ValidationError, match=r"1\.\.65535"):
        BehaviourConfig(fault_codes=[0])
    legacy = PressMachine(ModbusMachineConfig(kind="modbus", seed=1))
    assert legacy.press.behaviour is None
    for _ in range(100):
        legacy.step(0.1)
    assert legacy.press.state is S.RUNNING
    assert legacy.press.good_count == legacy.press.cycle_count >= 9  # 1 a second
    assert (legacy.press.scrap_count, legacy.press.fault_code) == (0, 0)


def test_press_with_behaviour_counts_good_and_scrap_and_follows_commands() -> None:
    cfg = BehaviourConfig(enabled=True, scrap_rate=0.1, slowdowns_per_h=0, speed_factor=0.5)
    press = Press(stroke_rate_spm=120, behaviour=Production(cfg, seed=4))
    press.behaviour.hold(True)  # type: ignore[union-attr]
    rng = random.Random(1)
    press.fire("start")
    speeds: dict[MachineState, set[bool]] = {}
    for _ in range(36_000):  # an hour at 0.1 s
        press.step(0.1, rng)
        speeds.setdefault(press.state, set()).add(press.spindle_speed > 0)
    assert press.cycle_count == press.good_count + press.scrap_count > 0
    assert press.scrap_count / press.cycle_count == pytest.approx(0.1, abs=0.02)
    assert speeds[S.RUNNING] == {True}
    assert all(speeds[s] == {False} for s in speeds if s is not S.RUNNING)
    assert press.spindle_speed < 120 * 20  # below the ideal speed
    while press.state is not S.RUNNING:
        press.step(0.1, rng)
    press.fire("stop")
    before = press.cycle_count
    press.step(600, rng)
    assert (press.state, press.cycle_count) == (S.IDLE, before)
    press.fire("trip")
    assert press.state is S.FAULT
    assert press.fault_code in cfg.fault_codes
    press.fire("reset")
    assert (press.state, press.fault_code) == (S.IDLE, 0)
