"""`shopfloor edge run -c FILE`, `shopfloor edge status` and `shopfloor edge token NAME`."""

import asyncio
import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path

import typer

from config.loader import ConfigError, load_plant


def run(
    config: Path = typer.Option(..., "-c", "--config", help="plant YAML file"),
    log_level: str = typer.Option("INFO", "--log-level"),
) -> None:
    """Run the edge agent: devices, northbound MQTT, writes, /metrics. Stops on SIGTERM."""
    from config.logs import setup_logging
    from edge.agent import AgentStartError, EdgeAgent
    from edge.northbound.queue import QueueError

    try:
        cfg = load_plant(config)
    except ConfigError as exc:
        typer.echo(exc.report("edge agent cannot start: "), err=True)
        raise typer.Exit(2) from None
    setup_logging(log_level, service="edge")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await EdgeAgent(cfg).run(stop)

    try:
        asyncio.run(main())
    except (AgentStartError, QueueError) as exc:
        typer.echo(f"edge agent cannot start: {exc}", err=True)
        raise typer.Exit(1) from None


def status(
    config: Path | None = typer.Option(None, "-c", "--config", help="plant YAML file"),
    url: str | None = typer.Option(None, "--url", help="metrics URL, e.g. http://host:9101"),
) -> None:
    """Print the running agent's metrics for a person."""
    from edge.metrics import summarize

    if url is None:
        if config is None:
            typer.echo("give --url or -c FILE (with edge.metrics_port)", err=True)
            raise typer.Exit(2)
        try:
            cfg = load_plant(config)
        except ConfigError as exc:
            typer.echo(exc.report(), err=True)
            raise typer.Exit(2) from None
        if cfg.edge.metrics_port is None:
            typer.echo(
                f"{config}: edge.metrics_port is not set: the agent serves no metrics", err=True
            )
            raise typer.Exit(2)
        host = "127.0.0.1" if cfg.edge.bind in ("0.0.0.0", "") else cfg.edge.bind
        url = f"http://{host}:{cfg.edge.metrics_port}"
    target = url.rstrip("/") + ("" if url.rstrip("/").endswith("/metrics") else "/metrics")
    try:
        with urllib.request.urlopen(target, timeout=5) as r:
            text = r.read().decode()
    except (urllib.error.URLError, OSError) as exc:
        typer.echo(f"no agent answers at {target}: {getattr(exc, 'reason', exc)}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"edge agent at {target}")
    typer.echo(summarize(text))
    sys.stdout.flush()


def token(name: str = typer.Argument(..., help="the caller, e.g. scada or mes")) -> None:
    """Make a token for one caller of the write API: the token for the caller, its hash for
    the plant file (`edge.api_tokens`). The token is shown once and stored nowhere."""
    from edge.northbound.tokens import NAME_PATTERN, new_token, token_hash

    if not NAME_PATTERN.match(name):
        typer.echo(f"bad caller name {name!r}: letters, digits, '_', '.', '-'", err=True)
        raise typer.Exit(2)
    secret = new_token()
    typer.echo(f"token for {name} (give it to the caller; it is not shown again):\n  {secret}")
    typer.echo("add to the plant file:")
    typer.echo(f"  edge:\n    api_tokens:\n      {name}: {token_hash(secret)}")


def register(app: typer.Typer) -> None:
    """Add this part's commands to the `edge` command group."""
    app.command("run")(run)
    app.command("status")(status)
    app.command("token")(token)
