"""`shopfloor mes ...`: serve the MES API, manage users and stations."""

import errno
import signal
import socket
from pathlib import Path

import typer

app = typer.Typer(help="MES: orders, scans, alarms, quality.", no_args_is_help=True)


def _port_problem(host: str, port: int) -> str | None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is already in use (mes.port)"
            return f"cannot listen on {host}:{port}: {exc.strerror}"
    return None


@app.command()
def serve(
    config: Path = typer.Option(..., "-c", "--config", help="plant file"),
    replica: str | None = typer.Option(
        None, help="name of this replica (MQTT client id); default: the host name"
    ),
    log_level: str = typer.Option("info", help="debug | info | warning | error"),
) -> None:
    """Serve the MES API on mes.bind:mes.port, over HTTPS when mes.tls is set (migrates the
    database, syncs master data)."""
    import uvicorn

    from config.loader import ConfigError, load_plant
    from config.logs import setup_logging
    from mes.api.server import StreamingServer, server_options
    from mes.app import create_app, end_streams
    from mes.runtime import MesRuntime
    from uns.client import BrokerUnreachable, probe_protocol

    try:
        cfg = load_plant(config)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    problem = _port_problem(cfg.mes.bind, cfg.mes.port)
    if problem is None and cfg.mes.tls is not None:
        from config.pki import server_tls_problem

        tls = server_tls_problem(cfg.mes.tls.certfile, cfg.mes.tls.keyfile)
        problem = f"mes.tls: {tls}" if tls else None
    if problem:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(1)
    try:
        probe_protocol(cfg.broker)
    except BrokerUnreachable as exc:
        typer.echo(f"error: broker unreachable: {exc}", err=True)
        raise typer.Exit(1) from None
    setup_logging(log_level, service="mes")
    runtime = MesRuntime(cfg, replica=replica)
    app = create_app(runtime)
    server = StreamingServer(
        uvicorn.Config(
            app,
            host=cfg.mes.bind,
            port=cfg.mes.port,
            log_level=log_level.lower(),
            log_config=None,  # uvicorn logs through our JSON handler
            timeout_graceful_shutdown=10,
            ssl_certfile=cfg.mes.tls.certfile if cfg.mes.tls else None,
            ssl_keyfile=cfg.mes.tls.keyfile if cfg.mes.tls else None,
            **server_options(cfg.mes.security),  # bounded heads, bodies, connections
        ),
        end_streams=lambda: end_streams(app),
    )
    # uvicorn shuts down gracefully on SIGTERM/SIGINT (lifespan: runtime.stop), then re-raises
    # the signal: exit with status 0 for it, as a service manager expects of a clean stop.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)
    server.run()
    if not server.started:
        raise typer.Exit(1)


def _exit_cleanly(_sig: int, _frame: object) -> None:
    raise SystemExit(0)


def _register_admin_commands() -> None:
    from mes.auth import cli as auth_cli

    auth_cli.register(app)  # user add, operator add, station enrol, token create


_register_admin_commands()
