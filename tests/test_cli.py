"""Every `shopfloor` service refuses a bad file the same way: non-zero, naming file and field."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SERVICES = [("edge", "run"), ("historian", "run"), ("mes", "serve")]


def _shopfloor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mes.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


@pytest.fixture
def bad_plant(tmp_path: Path) -> Path:
    plant = yaml.safe_load((ROOT / "config" / "plant.yaml").read_text())
    plant["devices"][0]["tags"][2]["address"] = -4
    path = tmp_path / "bad-plant.yaml"
    path.write_text(yaml.safe_dump(plant))
    return path


@pytest.mark.parametrize("command", SERVICES, ids=lambda c: " ".join(c))
def test_service_refuses_bad_plant_file(
    command: tuple[str, str], bad_plant: Path, tmp_path: Path
) -> None:
    done = _shopfloor(*command, "-c", str(bad_plant), cwd=tmp_path)
    assert done.returncode != 0
    assert f"{bad_plant}: devices[0].tags[2].address:" in done.stderr
    assert "greater than or equal to 0" in done.stderr
    assert "Traceback" not in done.stderr


def test_config_check_accepts_the_shipped_file_and_refuses_a_bad_one(
    bad_plant: Path, tmp_path: Path
) -> None:
    good = _shopfloor("config", "check", str(ROOT / "config" / "plant.yaml"), cwd=tmp_path)
    assert good.returncode == 0
    assert "ok (2 devices" in good.stdout
    bad = _shopfloor("config", "check", str(bad_plant), cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        f"{bad_plant}: devices[0].tags[2].address: tag 'spindle_speed': "
        "Input should be greater than or equal to 0"
    ]


def test_simulators_refuse_a_bad_file(tmp_path: Path) -> None:
    sims = yaml.safe_load((ROOT / "config" / "simulators.yaml").read_text())
    sims["machines"][0]["port"] = "not-a-port"
    path = tmp_path / "sims.yaml"
    path.write_text(yaml.safe_dump(sims))
    done = _shopfloor("sim", "run", "-c", str(path), cwd=tmp_path)
    assert done.returncode != 0
    assert "machines[0].port" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "command",
    [*((*c, "-c") for c in SERVICES), ("config", "check"), ("edge", "status", "-c")],
    ids=lambda c: " ".join(c),
)
def test_every_command_shows_every_problem(command: tuple[str, ...], tmp_path: Path) -> None:
    """Issue 16: `edge run` printed `...address: Field required (and 1 more)`."""
    plant = yaml.safe_load((ROOT / "config" / "plant.yaml").read_text())
    tag = plant["devices"][0]["tags"][2]
    tag["adress"] = tag.pop("address")
    plant["broker"]["url"] = "http://broker"
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(plant))
    done = _shopfloor(*command, str(path), cwd=tmp_path)
    assert done.returncode == 2
    assert f"{path}: broker.url: String should match pattern" in done.stderr
    assert (
        f"{path}: devices[0].tags[2]: tag 'spindle_speed': unknown key 'adress' "
        "(did you mean 'address'?)"
    ) in done.stderr
    assert "Field required" not in done.stderr
    assert "more)" not in done.stderr


def test_edge_verbs_report_bad_options_without_pydantic_prefixes() -> None:
    """Issue 16: "Value error, " (and a whole ValidationError) leaked into option errors."""
    from typer.testing import CliRunner

    from edge.cli import app

    runner = CliRunner()
    env = {"SHOPFLOOR_OPCUA_PASSWORD": "p"}
    browse = runner.invoke(app, ["browse", "opc.tcp://127.0.0.1:1", "--user", "u"], env=env)
    assert browse.exit_code == 2
    assert browse.output.strip() == (
        "bad security options: username/password over security mode None would travel in clear "
        "text: use mode Sign or SignAndEncrypt"
    )
    probe = runner.invoke(app, ["probe", "--unit", "300", "--area", "input"])
    assert probe.exit_code == 2
    assert probe.output.strip() == (
        "probe: bad options: unit_id: Input should be less than or equal to 247"
    )
