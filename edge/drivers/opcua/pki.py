"""The OPC UA certificate store of one device connection.

Layout under `security.pki_dir`:

    own/cert.der   own/key.pem   this client's certificate and key (made on first start)
    trusted/       server certificates we accept (DER or PEM), one file each
    rejected/      server certificates we met and refused, for `shopfloor edge trust`

A server is trusted when its exact certificate is in `trusted/` (pinning, as OPC UA
applications do with self-signed certificates). Anything else is refused and copied to
`rejected/` so an operator can inspect and accept it.
"""

import hashlib
import logging
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from asyncua.crypto import cert_gen
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from config.files import write_private

log = logging.getLogger(__name__)

CERT_DAYS = 3650


def thumbprint(der: bytes) -> str:
    """SHA-256 of a DER certificate, hex; names the files in trusted/ and rejected/."""
    return hashlib.sha256(der).hexdigest()


def describe(der: bytes) -> str:
    """One line naming a certificate for humans: subject, validity, thumbprint."""
    cert = x509.load_der_x509_certificate(der)
    return (
        f"{cert.subject.rfc4514_string()} valid {cert.not_valid_before_utc:%Y-%m-%d}"
        f"..{cert.not_valid_after_utc:%Y-%m-%d} sha256 {thumbprint(der)}"
    )


def _load_der(path: Path) -> bytes | None:
    data = path.read_bytes()
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            cert = x509.load_pem_x509_certificate(data)
        else:
            cert = x509.load_der_x509_certificate(data)
    except ValueError:
        log.warning("ignoring %s: not a certificate", path)
        return None
    return cert.public_bytes(serialization.Encoding.DER)


def write_self_signed(
    cert_file: Path,
    key_file: Path,
    application_uri: str,
    role: Literal["client", "server"],
    host_name: str | None = None,
) -> None:
    """Write a new key (mode 0600) and a self-signed application certificate for it."""
    host = host_name or socket.gethostname()
    key = cert_gen.generate_private_key()
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if role == "client" else ExtendedKeyUsageOID.SERVER_AUTH
    sans: list[x509.GeneralName] = [
        x509.UniformResourceIdentifier(application_uri),
        x509.DNSName(host),
    ]
    if host != "localhost":
        sans.append(x509.DNSName("localhost"))
    cert = cert_gen.generate_self_signed_app_certificate(
        key, application_uri, {}, sans, extended=[usage], days=CERT_DAYS
    )
    key_file.parent.mkdir(parents=True, exist_ok=True)
    cert_file.parent.mkdir(parents=True, exist_ok=True)
    write_private(key_file, cert_gen.dump_private_key_as_pem(key))  # 0600 even when replaced
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.DER))


def certificate_fits(cert_file: Path, key_file: Path, application_uri: str) -> bool:
    """True when the certificate is valid now, names `application_uri` and matches the key."""
    try:
        cert = x509.load_der_x509_certificate(cert_file.read_bytes())
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except (OSError, ValueError):
        return False
    now = datetime.now(UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return False
    if application_uri not in san.value.get_values_for_type(x509.UniformResourceIdentifier):
        return False
    if not isinstance(key, rsa.RSAPrivateKey):
        return False
    return cert.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]


class Pki:
    """Own certificate plus trusted/rejected server certificates under one directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.own_cert = root / "own" / "cert.der"
        self.own_key = root / "own" / "key.pem"
        self.trusted_dir = root / "trusted"
        self.rejected_dir = root / "rejected"

    def ensure_own_certificate(self, application_uri: str) -> bool:
        """Create the client certificate and key unless a fitting pair exists; True if made."""
        if certificate_fits(self.own_cert, self.own_key, application_uri):
            return False
        write_self_signed(self.own_cert, self.own_key, application_uri, "client")
        log.info("created OPC UA client certificate %s", self.own_cert)
        return True

    def _certs_in(self, folder: Path) -> dict[str, Path]:
        if not folder.is_dir():
            return {}
        found: dict[str, Path] = {}
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix.lower() in (".der", ".pem", ".crt", ".cer"):
                der = _load_der(path)
                if der is not None:
                    found[thumbprint(der)] = path
        return found

    def is_trusted(self, der: bytes) -> bool:
        return thumbprint(der) in self._certs_in(self.trusted_dir)

    def reject(self, der: bytes) -> Path:
        """Keep a refused server certificate in rejected/ for the operator to review."""
        self.rejected_dir.mkdir(parents=True, exist_ok=True)
        path = self.rejected_dir / f"{thumbprint(der)}.der"
        path.write_bytes(der)
        return path

    def trust(self, der: bytes) -> Path:
        """Accept a server certificate: into trusted/, out of rejected/."""
        self.trusted_dir.mkdir(parents=True, exist_ok=True)
        name = f"{thumbprint(der)}.der"
        path = self.trusted_dir / name
        path.write_bytes(der)
        (self.rejected_dir / name).unlink(missing_ok=True)
        return path
