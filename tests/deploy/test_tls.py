"""Data in transit: the local CA (`shopfloor pki`), the shipped broker's TLS listener with its
certificates, and `shopfloor mes serve` over HTTPS."""

import os
import ssl
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from paho.mqtt.enums import MQTTProtocolVersion
from typer.testing import CliRunner

from config.plant import Broker, Tls
from mes.cli import app
from tests.deploy.shipped_broker import ShippedBroker, password, start
from tests.mes.orders_support import PLANT_YAML
from tests.services.mosquitto import Mosquitto
from tests.services.ports import free_port, wait_for
from uns.client import BrokerUnreachable, probe_protocol

SHOPFLOOR = str(Path(sys.executable).with_name("shopfloor"))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShippedBroker]:
    yield from start(tmp_path_factory.mktemp("tls-broker"))


def test_pki_init_and_issue_write_private_keys_and_a_verifiable_chain(tmp_path: Path) -> None:
    runner, pki = CliRunner(), tmp_path / "pki"
    made = runner.invoke(app, ["pki", "init", "--dir", str(pki)])
    assert made.exit_code == 0, made.output
    again = runner.invoke(app, ["pki", "init", "--dir", str(pki)])
    assert again.exit_code == 1
    assert "already holds a CA" in again.output
    args = ["pki", "issue", "mes", "--dir", str(pki), "--dns", "mes.plant", "--ip", "10.0.0.5"]
    issued = runner.invoke(app, args)
    assert issued.exit_code == 0, issued.output
    assert _mode(pki / "ca.key") == 0o600
    assert _mode(pki / "mes.key") == 0o600
    cert = x509.load_pem_x509_certificate((pki / "mes.crt").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["mes.plant"]
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["10.0.0.5"]
    ca = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
    cert.verify_directly_issued_by(ca)
    # re-issuing (rotation) replaces the key, still 0600 even if someone opened it up
    os.chmod(pki / "mes.key", 0o644)
    old_key = (pki / "mes.key").read_bytes()
    assert runner.invoke(app, args).exit_code == 0
    assert _mode(pki / "mes.key") == 0o600
    assert (pki / "mes.key").read_bytes() != old_key
    bad = runner.invoke(app, ["pki", "issue", "x", "--dir", str(pki), "--ip", "not-an-ip"])
    assert bad.exit_code == 1
    assert "not-an-ip" in bad.output
    none = runner.invoke(app, ["pki", "issue", "x", "--dir", str(tmp_path / "empty")])
    assert "run `shopfloor pki init` first" in none.output


def test_shipped_broker_tls_listener_with_the_local_ca(broker: ShippedBroker) -> None:
    url = f"mqtts://127.0.0.1:{broker.tls_port}"
    ca = str(broker.pki / "ca.crt")
    login = {"username": "edge-1", "password": password("edge-1")}
    assert probe_protocol(Broker(url=url, tls=Tls(ca=ca), **login)) is MQTTProtocolVersion.MQTTv5
    with_cert = Tls(ca=ca, cert=str(broker.pki / "edge-1.crt"), key=str(broker.pki / "edge-1.key"))
    assert probe_protocol(Broker(url=url, tls=with_cert, **login)) is MQTTProtocolVersion.MQTTv5
    # a client that does not trust the plant's CA (system CAs only) refuses the broker
    with pytest.raises(BrokerUnreachable):
        probe_protocol(Broker(url=url, **login), timeout=2)
    # TLS is no way around the login: a wrong password is refused there too
    _c, rc = broker.connect("nobody", tls=True)
    assert rc.is_failure


def test_mes_serve_over_https(tmp_path: Path, mosquitto: Mosquitto) -> None:
    runner, pki = CliRunner(), tmp_path / "pki"
    assert runner.invoke(app, ["pki", "init", "--dir", str(pki)]).exit_code == 0
    issued = runner.invoke(app, ["pki", "issue", "mes", "--dir", str(pki), "--ip", "127.0.0.1"])
    assert issued.exit_code == 0
    port = free_port()
    env = {
        **os.environ,
        "SHOPFLOOR_DATABASE__URL": f"sqlite:///{tmp_path}/mes.db",
        "SHOPFLOOR_BROKER__URL": mosquitto.url,
        "SHOPFLOOR_MES__PORT": str(port),
        "SHOPFLOOR_MES__TLS__CERTFILE": str(pki / "mes.crt"),
        "SHOPFLOOR_MES__TLS__KEYFILE": str(pki / "mes.key"),
    }
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [SHOPFLOOR, "mes", "serve", "-c", str(PLANT_YAML)], env=env, stdout=log, stderr=log
    )
    trusted = ssl.create_default_context(cafile=str(pki / "ca.crt"))

    def up() -> bool:
        assert proc.poll() is None, (tmp_path / "serve.log").read_text()
        try:
            return httpx.get(f"https://127.0.0.1:{port}/healthz", verify=trusted).is_success
        except httpx.TransportError:
            return False

    try:
        wait_for(up, 60, "mes serve over HTTPS")
        with pytest.raises(httpx.TransportError):  # plain HTTP gets no answer
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        with pytest.raises(httpx.ConnectError):  # nor does a client that does not trust the CA
            httpx.get(f"https://127.0.0.1:{port}/healthz", timeout=5)
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def test_mes_serve_names_a_missing_certificate(tmp_path: Path, mosquitto: Mosquitto) -> None:
    env = {
        **os.environ,
        "SHOPFLOOR_DATABASE__URL": f"sqlite:///{tmp_path}/mes.db",
        "SHOPFLOOR_BROKER__URL": mosquitto.url,
        "SHOPFLOOR_MES__PORT": str(free_port()),
        "SHOPFLOOR_MES__TLS__CERTFILE": str(tmp_path / "nope.crt"),
        "SHOPFLOOR_MES__TLS__KEYFILE": str(tmp_path / "nope.key"),
    }
    r = subprocess.run(
        [SHOPFLOOR, "mes", "serve", "-c", str(PLANT_YAML)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 1
    assert r.stderr.strip() == (
        f"error: mes.tls: cannot read {tmp_path / 'nope.crt'}: No such file or directory"
    )
