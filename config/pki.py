"""A small local certificate authority for a plant: one CA, then a key and certificate per
server (broker, MES) or client (edge agent). Keys are written 0600 and never leave the machine
that made them; the CA key belongs offline once the certificates are issued."""

import datetime as dt
import ipaddress
import re
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from config.files import write_private

CA_CERT, CA_KEY = "ca.crt", "ca.key"
NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$")
#: a CA that signs certificates (and revocation lists) and nothing else
CA_USAGE = x509.KeyUsage(
    digital_signature=False, content_commitment=False, key_encipherment=False,
    data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
    encipher_only=False, decipher_only=False,
)  # fmt: skip


class PkiError(Exception):
    """The CA cannot do what was asked; the message says why."""


@dataclass(frozen=True, slots=True)
class Issued:
    cert: Path
    key: Path
    not_after: dt.datetime


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "shopfloor"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def init_ca(directory: Path, common_name: str = "shopfloor local CA", days: int = 3650) -> Issued:
    """Create the CA in `directory` (ca.crt, ca.key); refuses to replace an existing one."""
    cert_path, key_path = directory / CA_CERT, directory / CA_KEY
    if key_path.exists() or cert_path.exists():
        raise PkiError(f"{directory} already holds a CA ({CA_CERT}/{CA_KEY}): not replaced")
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    pub = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(pub)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(CA_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(key_path, _key_pem(key))
    directory.mkdir(parents=True, exist_ok=True)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Issued(cert_path, key_path, cert.not_valid_after_utc)


def _load_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    try:
        cert = x509.load_pem_x509_certificate((directory / CA_CERT).read_bytes())
        key = serialization.load_pem_private_key((directory / CA_KEY).read_bytes(), None)
    except FileNotFoundError:
        raise PkiError(f"no CA in {directory}: run `shopfloor pki init` first") from None
    except ValueError as exc:
        raise PkiError(f"the CA in {directory} is unreadable: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError(f"{directory / CA_KEY} is not a key made by `shopfloor pki init`")
    return cert, key


def issue(directory: Path, name: str, dns: list[str], ips: list[str], days: int = 825) -> Issued:
    """A key and a certificate for `name`, signed by the CA in `directory` (NAME.crt,
    NAME.key), valid as a TLS server and client for the given DNS names and IP addresses.
    Issuing a name again replaces its key and certificate (rotation)."""
    if not NAME.match(name) or name == "ca":
        raise PkiError(f"bad name {name!r}: letters, digits, '_', '.', '-' (and not 'ca')")
    try:
        addresses = [ipaddress.ip_address(ip) for ip in ips]
    except ValueError as exc:
        raise PkiError(str(exc)) from None
    ca_cert, ca_key = _load_ca(directory)
    alt: list[x509.GeneralName] = [x509.DNSName(d) for d in (dns or ([] if ips else [name]))]
    alt += [x509.IPAddress(a) for a in addresses]
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    not_after = min(now + dt.timedelta(days=days), ca_cert.not_valid_after_utc)
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    write_private(key_path, _key_pem(key))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Issued(cert_path, key_path, cert.not_valid_after_utc)


def server_tls_problem(certfile: str, keyfile: str) -> str | None:
    """Why a TLS server could not use this certificate and key (one line), or None."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certfile, keyfile)
    except OSError as exc:
        return f"cannot read {exc.filename or certfile}: {exc.strerror}"
    except ssl.SSLError as exc:
        return f"{certfile} / {keyfile}: not a matching PEM certificate and key ({exc.reason})"
    return None
