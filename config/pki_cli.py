"""`shopfloor pki init` and `shopfloor pki issue NAME --dns ... --ip ...`."""

from pathlib import Path

import typer

app = typer.Typer(
    help="A small local CA: certificates for the broker, the MES and edge agents.",
    no_args_is_help=True,
)
DIR = typer.Option(Path("pki"), "--dir", help="where the CA and the issued files live")


@app.command()
def init(
    directory: Path = DIR,
    name: str = typer.Option("shopfloor local CA", "--name", help="the CA's common name"),
    days: int = typer.Option(3650, min=1, help="validity of the CA certificate"),
) -> None:
    """Create the CA (ca.crt for every client and server; ca.key: keep it offline, 0600)."""
    from config.pki import PkiError, init_ca

    try:
        made = init_ca(directory, name, days)
    except PkiError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"CA certificate {made.cert} (valid until {made.not_after:%Y-%m-%d})")
    typer.echo(f"CA key {made.key} (mode 0600: back it up offline; whoever has it can issue)")


@app.command()
def issue(
    name: str = typer.Argument(..., help="e.g. broker, mes, edge-1 (the file names)"),
    dns: list[str] = typer.Option([], "--dns", help="a DNS name the peer will use (repeat)"),
    ip: list[str] = typer.Option([], "--ip", help="an IP address the peer will use (repeat)"),
    directory: Path = DIR,
    days: int = typer.Option(825, min=1, help="validity of the certificate"),
) -> None:
    """Issue NAME.key (0600) and NAME.crt signed by the CA, for a TLS server or client."""
    from config.pki import PkiError
    from config.pki import issue as issue_cert

    try:
        made = issue_cert(directory, name, dns, ip, days)
    except PkiError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{made.cert} (valid until {made.not_after:%Y-%m-%d}), key {made.key} (0600)")
