"""TLS to the broker: CA, client certificate and key, with a real Mosquitto TLS listener."""

import datetime as dt
import ipaddress
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import MQTTProtocolVersion

from config.plant import Broker, Queue, Tls
from edge.northbound.publisher import Northbound
from tests.northbound.helpers import NS, PATHS, batch
from tests.services.ports import free_port, port_open, wait_for
from uns.client import BrokerUnreachable, probe_protocol


def _cert(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey | None, ca: bool,
) -> x509.Certificate:  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(issuer_key or key, hashes.SHA256())


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    path.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("shopfloor test CA", ca_key, None, None, ca=True)
    _write(tmp_path / "ca", ca, ca_key)
    for who in ("broker", "edge"):
        key = ec.generate_private_key(ec.SECP256R1())
        _write(tmp_path / who, _cert(who, key, ca, ca_key, ca=False), key)
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\n"
        f"cafile {tmp_path}/ca.crt\ncertfile {tmp_path}/broker.crt\nkeyfile {tmp_path}/broker.key\n"
        "require_certificate true\nallow_anonymous true\nuser root\n"
        f"log_dest file {tmp_path}/log\n"
    )
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([exe, "-c", str(conf)])
    wait_for(lambda: port_open(port), 10, "TLS broker")
    yield port, tmp_path
    proc.terminate()
    proc.wait(10)


def test_publisher_over_tls_with_client_certificate(
    tls_broker: tuple[int, Path], tmp_path: Path
) -> None:
    port, pki = tls_broker
    tls = Tls(ca=str(pki / "ca.crt"), cert=str(pki / "edge.crt"), key=str(pki / "edge.key"))
    broker = Broker(url=f"mqtts://127.0.0.1:{port}", tls=tls, client_id="edge-tls")
    assert probe_protocol(broker) is MQTTProtocolVersion.MQTTv5
    nb = Northbound(broker, NS, "edge-t", PATHS, Queue(path=str(tmp_path / "q.sqlite")))
    nb.start()
    nb.put(batch("press-01", 3))
    wait_for(lambda: nb.stats.values_published == 3, 10, "3 values acknowledged over TLS")
    nb.stop()
    # without the client certificate the broker refuses the handshake
    no_cert = Broker(url=f"mqtts://127.0.0.1:{port}", tls=Tls(ca=str(pki / "ca.crt")))
    with pytest.raises(BrokerUnreachable):
        probe_protocol(no_cert, timeout=1)
