"""Opening one OPC UA session: endpoint choice, certificates, trust check, user login."""

import asyncio
import contextlib
import logging
from pathlib import Path

from asyncua import Client, ua
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from asyncua.ua.uaerrors import UaStatusCodeError

from edge.drivers.opcua import liblog
from edge.drivers.opcua.codec import status_name
from edge.drivers.opcua.config import OpcUaSecurity
from edge.drivers.opcua.pki import Pki, describe

log = logging.getLogger(__name__)
liblog.install()

_MODES = {
    "None": ua.MessageSecurityMode.None_,
    "Sign": ua.MessageSecurityMode.Sign,
    "SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt,
}


_NO_LIBRARY_PROBE_S = 24 * 3600.0


class UntrustedServer(Exception):
    """The server's certificate is not in our trust store (it was saved to rejected/)."""

    reason = "BadCertificateUntrusted"


class NoMatchingEndpoint(Exception):
    """The server offers no endpoint with the configured security mode and policy."""

    reason = "BadSecurityPolicyRejected"


def reason_of(exc: BaseException) -> str:
    """The reason a reading carries when `exc` made the device unavailable."""
    if isinstance(exc, UntrustedServer | NoMatchingEndpoint):
        return exc.reason
    if isinstance(exc, UaStatusCodeError):
        return status_name(exc.code)
    if isinstance(exc, TimeoutError):
        return "BadTimeout"
    if isinstance(exc, ConnectionRefusedError):
        return "BadNotConnected"
    return "BadConnectionClosed"


def describe_error(exc: BaseException) -> str:
    """A short, secret-free description for status messages and logs."""
    text = str(exc) or type(exc).__name__
    return f"{reason_of(exc)}: {text}" if reason_of(exc) not in text else text


def first_certificate(der: bytes) -> bytes:
    """Servers may send a chain: keep the leading certificate (outer DER SEQUENCE)."""
    if len(der) < 4 or der[0] != 0x30:
        return der
    if der[1] == 0x82:
        return der[: int.from_bytes(der[2:4], "big") + 4]
    if der[1] == 0x81:
        return der[: der[2] + 3]
    return der


def pki_for(security: OpcUaSecurity) -> Pki:
    return Pki(Path(security.pki_dir))


async def server_certificate(endpoint: str, timeout_s: float) -> bytes:
    """The certificate a server presents on its secured endpoints (for `edge trust`)."""
    client = Client(endpoint, timeout=timeout_s)
    endpoints = await asyncio.wait_for(client.connect_and_get_server_endpoints(), timeout_s)
    for ep in endpoints:
        if ep.ServerCertificate and ep.SecurityMode != ua.MessageSecurityMode.None_:
            return first_certificate(ep.ServerCertificate)
    for ep in endpoints:
        if ep.ServerCertificate:
            return first_certificate(ep.ServerCertificate)
    raise NoMatchingEndpoint(f"{endpoint} presents no certificate")


async def _secure(client: Client, endpoint: str, security: OpcUaSecurity, timeout_s: float) -> None:
    mode = _MODES[security.mode]
    pki = pki_for(security)
    await asyncio.to_thread(pki.ensure_own_certificate, security.application_uri)
    endpoints = await asyncio.wait_for(client.connect_and_get_server_endpoints(), timeout_s)
    uri = SecurityPolicyBasic256Sha256.URI
    matching = [e for e in endpoints if e.SecurityMode == mode and e.SecurityPolicyUri == uri]
    if not matching:
        offered = sorted(
            {f"{e.SecurityPolicyUri.rsplit('#')[-1]}/{e.SecurityMode.name}" for e in endpoints}
        )
        raise NoMatchingEndpoint(
            f"{endpoint} offers no Basic256Sha256 {security.mode} endpoint (offers {offered})"
        )
    der = first_certificate(matching[0].ServerCertificate or b"")
    if not der:
        raise NoMatchingEndpoint(f"{endpoint} sends no certificate on its secure endpoint")
    if not await asyncio.to_thread(pki.is_trusted, der):
        saved = await asyncio.to_thread(pki.reject, der)
        raise UntrustedServer(
            f"server certificate of {endpoint} is not trusted ({describe(der)}); kept in "
            f"{saved}; accept it with `shopfloor edge trust {endpoint}`"
        )
    await client.set_security(
        SecurityPolicyBasic256Sha256,
        str(pki.own_cert),
        str(pki.own_key),
        server_certificate=der,
        mode=mode,
    )


async def open_client(
    endpoint: str,
    security: OpcUaSecurity,
    timeout_s: float,
    name: str,
) -> Client:
    """A connected, activated session; raises UntrustedServer, NoMatchingEndpoint, OSError,
    TimeoutError or UaStatusCodeError. Never logs the password.

    asyncua's own probe (one read per interval, any timeout = lost) is switched off: under
    load it drops healthy sessions. A closed socket is still reported at once; the driver
    probes only connections that have gone quiet."""
    client = Client(endpoint, timeout=timeout_s, watchdog_intervall=_NO_LIBRARY_PROBE_S)
    client.application_uri = security.application_uri
    client.name = client.description = f"shopfloor edge {name}"
    client.session_timeout = 60_000
    if security.mode != "None":
        await _secure(client, endpoint, security, timeout_s)
    if security.username is not None and security.password is not None:
        client.set_user(security.username)
        client.set_password(security.password.get_secret_value())
    try:
        await asyncio.wait_for(client.connect(), timeout_s)
    except BaseException:
        await close_quietly(client, 0.5)
        raise
    return client


async def close_quietly(client: Client, timeout_s: float) -> None:
    """Close session and socket; a dead server must not hold us up."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.disconnect(), timeout_s)
    with contextlib.suppress(Exception):
        client.disconnect_socket()
