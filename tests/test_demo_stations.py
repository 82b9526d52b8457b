"""`shopfloor demo --free WS`: a workstation left to the person trying the demo."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mes.demo import OPERATORS, simulated_operators
from simulators.cli import app as sim_app

ROOT = Path(__file__).resolve().parents[1]
STATIONS = ["ws-10", "ws-20"]


def test_each_workstation_has_its_simulated_operator_unless_it_is_left_free() -> None:
    badges = [badge for badge, _ in OPERATORS]
    assert simulated_operators(STATIONS, []) == list(zip(STATIONS, badges, strict=True))
    assert simulated_operators(STATIONS, ["ws-10"]) == [("ws-20", badges[1])]
    assert simulated_operators(STATIONS, STATIONS) == []


def test_an_unknown_free_workstation_is_named() -> None:
    with pytest.raises(
        SystemExit, match=r"--free ws-99: no such workstation \(the plant has ws-10"
    ):
        simulated_operators(STATIONS, ["ws-10", "ws-99"])


def test_the_floor_simulator_refuses_a_workstation_the_plant_has_not(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"station_tokens": {"ws-10": "t"}}))
    plant = ROOT / "config" / "plant.yaml"
    args = ["floor", "-c", str(plant), "--secrets", str(secrets), "--station", "ws-99"]
    done = CliRunner().invoke(sim_app, args)
    assert done.exit_code == 2
    assert "--station ws-99: no such workstation in" in done.output
