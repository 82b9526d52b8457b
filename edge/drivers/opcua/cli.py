"""`shopfloor edge browse URL` and `shopfloor edge trust URL`."""

import asyncio
import os
from pathlib import Path

import typer
from pydantic import SecretStr, ValidationError

from config.problems import message
from edge.drivers.opcua.config import OpcUaSecurity


def _security(
    mode: str, username: str | None, password: str | None, pki_dir: Path
) -> OpcUaSecurity:
    try:
        return OpcUaSecurity(
            mode=mode,  # type: ignore[arg-type]
            username=username,
            password=SecretStr(password) if password is not None else None,
            pki_dir=str(pki_dir),
        )
    except ValidationError as exc:
        msg = "; ".join(message(e) for e in exc.errors())
        typer.echo(f"bad security options: {msg}", err=True)
        raise typer.Exit(2) from None


async def _browse(
    url: str,
    root: str,
    max_nodes: int,
    include_server: bool,
    security: OpcUaSecurity,
    timeout: float,
    uris: bool = False,
) -> str:
    from dataclasses import replace

    from edge.drivers.opcua.browse import browse_variables, to_yaml
    from edge.drivers.opcua.connect import close_quietly, open_client
    from edge.drivers.opcua.namespaces import by_uri

    client = await open_client(url, security, timeout, "browse")
    try:
        found = await browse_variables(client, root, max_nodes, include_server)
        if uris:
            array = await client.get_namespace_array()
            found = [replace(v, node_id=by_uri(v.node_id, array)) for v in found]
    finally:
        await close_quietly(client, 2.0)
    return to_yaml(found, f"{len(found)} variables under {root} of {url}")


def register(app: typer.Typer) -> None:
    """Add this part's commands to the `edge` command group."""

    @app.command("browse")
    def browse(
        url: str = typer.Argument(..., help="opc.tcp://host:port/path"),
        root: str = typer.Option("i=85", help="node to start from (default: Objects)"),
        max_nodes: int = typer.Option(10000, help="stop after this many nodes"),
        include_server: bool = typer.Option(False, help="also list the Server object"),
        mode: str = typer.Option("None", help="None | Sign | SignAndEncrypt"),
        username: str | None = typer.Option(None, "--user"),
        pki_dir: Path = typer.Option(Path("data/pki"), help="own/ trusted/ rejected/"),
        timeout: float = typer.Option(5.0, help="seconds per request"),
        uris: bool = typer.Option(
            False, "--by-uri", help="node ids as nsu=<namespace URI> (independent of its order)"
        ),
    ) -> None:
        """Print the server's variables as a `tags:` list, ready to paste into a device."""
        from edge.drivers.opcua.connect import describe_error

        password = os.environ.get("SHOPFLOOR_OPCUA_PASSWORD")
        if username is not None and password is None:
            password = typer.prompt("password", hide_input=True)
        security = _security(mode, username, password, pki_dir)
        try:
            text = asyncio.run(
                _browse(url, root, max_nodes, include_server, security, timeout, uris)
            )
        except Exception as exc:  # noqa: BLE001 - report any failure as one clear line
            typer.echo(f"browse {url} failed: {describe_error(exc)}", err=True)
            raise typer.Exit(1) from None
        typer.echo(text, nl=False)

    @app.command("trust")
    def trust(
        url: str = typer.Argument(..., help="opc.tcp://host:port/path"),
        pki_dir: Path = typer.Option(Path("data/pki"), help="the device's security.pki_dir"),
        yes: bool = typer.Option(False, "--yes", "-y", help="do not ask"),
        timeout: float = typer.Option(5.0),
    ) -> None:
        """Fetch the server's certificate and add it to the trust store."""
        from edge.drivers.opcua.connect import describe_error, server_certificate
        from edge.drivers.opcua.pki import Pki, describe

        try:
            der = asyncio.run(server_certificate(url, timeout))
        except Exception as exc:  # noqa: BLE001 - report any failure as one clear line
            typer.echo(f"cannot fetch the certificate of {url}: {describe_error(exc)}", err=True)
            raise typer.Exit(1) from None
        pki = Pki(pki_dir)
        typer.echo(f"server certificate: {describe(der)}")
        if pki.is_trusted(der):
            typer.echo("already trusted")
            return
        if not yes and not typer.confirm("trust this server?"):
            raise typer.Exit(1)
        path = pki.trust(der)
        typer.echo(f"trusted: {path}")
