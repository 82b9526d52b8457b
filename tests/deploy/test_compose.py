"""docker-compose.yml stays consistent with the docs, the CLI and the shipped config files."""

import re
import shlex
import subprocess
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
    secrets = ("MQTT_EDGE_PASSWORD", "MQTT_HISTORIAN_PASSWORD", "MQTT_MES_PASSWORD",
               "INFLUX_PASSWORD", "INFLUX_ADMIN_TOKEN", "INFLUX_WRITE_TOKEN", "INFLUX_READ_TOKEN",
               "POSTGRES_PASSWORD", "MES_ADMIN_PASSWORD", "GRAFANA_ADMIN_PASSWORD")  # fmt: skip
    for secret in secrets:
        assert f"${{{secret}:?" in text, f"{secret} must be required, not defaulted"


def _environment(name: str) -> dict[str, str]:
    return dict(_compose()["services"][name].get("environment", {}))


def test_only_what_outside_users_need_is_published_on_every_interface() -> None:
    public = {"8883", "8000", "3000"}  # broker TLS, MES (HTTPS), Grafana
    for name, svc in _compose()["services"].items():
        for port in svc.get("ports", []):
            parts = str(port).split(":")
            if len(parts) == 3:
                assert parts[0] == "127.0.0.1", f"{name}: {port}"
            else:
                assert parts[0] in public, f"{name} publishes {port} on every interface"
    ports = {str(p) for p in _compose()["services"]["mosquitto"]["ports"]}
    assert "127.0.0.1:1883:1883" in ports
    assert _compose()["services"]["influxdb"]["ports"] == ["127.0.0.1:8086:8086"]


def test_each_service_logs_in_to_the_broker_as_its_own_acl_user() -> None:
    acl = (ROOT / "config" / "mosquitto.acl.example").read_text()
    acl_users = set(re.findall(r"^user (\S+)$", acl, flags=re.M))
    users = {}
    for name in ("edge", "historian", "mes"):
        env = _environment(name)
        user = re.sub(r"\$\{\w+:-([^}]+)\}", r"\1", env["SHOPFLOOR_BROKER__USERNAME"])
        assert user in acl_users, f"{name} logs in as {user}, which the ACL does not know"
        assert env["SHOPFLOOR_BROKER__PASSWORD"].startswith("${MQTT_"), name
        users[name] = (user, env["SHOPFLOOR_BROKER__PASSWORD"])
    assert len(set(users.values())) == 3  # no shared user, no shared password


def test_broker_and_mes_serve_tls_with_the_local_ca_files() -> None:
    conf = (ROOT / "config" / "mosquitto.conf").read_text()
    mounts = " ".join(_compose()["services"]["mosquitto"]["volumes"])
    for key in ("cafile", "certfile", "keyfile"):
        path = re.search(rf"^{key} (\S+)$", conf, flags=re.M)
        assert path, f"mosquitto.conf has no {key}"
        assert f":{path.group(1)}:ro" in mounts
    env = _environment("mes")
    mes_mounts = " ".join(_compose()["services"]["mes"]["volumes"])
    for key in ("CERTFILE", "KEYFILE"):
        assert f":{env[f'SHOPFLOOR_MES__TLS__{key}']}:ro" in mes_mounts


def test_grafana_needs_a_password_and_reads_with_a_read_only_token() -> None:
    grafana = _environment("grafana")
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    assert grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    datasource = yaml.safe_load(
        (ROOT / "config/grafana/provisioning/datasources/influxdb.yaml").read_text()
    )
    token = datasource["datasources"][0]["secureJsonData"]["token"]
    assert token == "$INFLUX_READ_TOKEN"
    assert grafana["INFLUX_READ_TOKEN"].startswith("${INFLUX_READ_TOKEN:?")
    historian = _environment("historian")["SHOPFLOOR_HISTORIAN__TOKEN"]
    assert historian.startswith("${INFLUX_WRITE_TOKEN:?")
    # the all-access token is InfluxDB's own: no other service sees it
    for name, svc in _compose()["services"].items():
        if name != "influxdb":
            assert "INFLUX_ADMIN_TOKEN" not in yaml.safe_dump(svc.get("environment", {})), name


def test_scoped_tokens_script_grants_one_bucket_read_or_write_only() -> None:
    script = ROOT / "config" / "influxdb" / "scoped-tokens.sh"
    subprocess.run(["sh", "-n", str(script)], check=True)
    text = script.read_text()
    creates = re.findall(r"influx auth create ([^\n]*)", text)
    assert len(creates) == 2
    assert "--write-bucket" in creates[0]
    assert "--read-bucket" in creates[1]
    for forbidden in ("--all-access", "--operator", "--read-buckets", "--write-buckets"):
        assert forbidden not in text
    mounts = " ".join(_compose()["services"]["influxdb"]["volumes"])
    assert "./config/influxdb/scoped-tokens.sh:" in mounts
