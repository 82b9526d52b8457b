"""docker-compose.yml stays consistent with the docs, the CLI and the shipped config files."""

import re
import shlex
from pathlib import Path

import yaml
from typer.testing import CliRunner

from mes.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _documented_services() -> set[str]:
    text = (ROOT / "docs" / "operations.md").read_text()
    section = text.split("## Services", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| (\w+) \|", section, flags=re.M)) - {"service"}


def test_compose_names_every_documented_service() -> None:
    documented = _documented_services()
    expected = {"mosquitto", "influxdb", "postgres", "grafana", "edge", "historian", "mes"}
    assert expected <= documented
    assert documented <= set(_compose()["services"])


def test_compose_commands_are_real_cli_commands() -> None:
    runner = CliRunner()
    for name, svc in _compose()["services"].items():
        if "command" not in svc or svc.get("image") != "shopfloor:latest":
            continue
        words = [w for w in svc["command"] if not w.startswith("-")][:2]
        result = runner.invoke(app, [*words, "--help"])
        assert result.exit_code == 0, f"{name}: {shlex.join(words)}: {result.output}"


def test_compose_mounts_only_files_we_ship_or_the_docs_say_how_to_make() -> None:
    operations = (ROOT / "docs" / "operations.md").read_text()
    for name, svc in _compose()["services"].items():
        for vol in svc.get("volumes", []):
            src = vol.split(":", 1)[0]
            if not src.startswith("./"):
                continue
            shipped = (ROOT / src).exists()
            explained = f"`{src[2:]}`" in operations
            assert shipped or explained, f"{name} mounts {src}: not in the repo nor in the docs"


def test_compose_ships_no_default_secrets() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for secret in ("MQTT_PASSWORD", "INFLUX_TOKEN", "POSTGRES_PASSWORD", "MES_ADMIN_PASSWORD"):
        assert f"${{{secret}:?" in text, f"{secret} must be required, not defaulted"
