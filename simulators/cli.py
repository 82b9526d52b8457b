"""`shopfloor sim run -c FILE` (machines) and `shopfloor sim erp` (the ERP simulator)."""

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

import typer

from config.logs import setup_logging
from simulators.config import (
    ModbusMachineConfig,
    SimulatorConfigError,
    SimulatorFile,
    load_simulators,
)
from simulators.floor import SIM_OPERATORS

app = typer.Typer(help="Simulated machines and ERP for tests and demos.", no_args_is_help=True)
log = logging.getLogger(__name__)


async def run_machines(sims: SimulatorFile, stop: asyncio.Event) -> None:
    """Serve every machine of the file until `stop` is set; each kind is served by its own
    package, imported only when the file uses it."""
    modbus = [m for m in sims.machines if isinstance(m, ModbusMachineConfig)]
    others = [m for m in sims.machines if not isinstance(m, ModbusMachineConfig)]
    tasks: list[asyncio.Task[None]] = []
    if modbus:
        from simulators.modbus.machine import serve as serve_modbus

        tasks.append(asyncio.create_task(serve_modbus(modbus, stop), name="modbus"))
    for m in others:  # kind: opcua
        from simulators.opcua.machine import serve as serve_opcua

        tasks.append(asyncio.create_task(serve_opcua(m, stop), name=m.name))
    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    for t in done:
        if not t.cancelled() and t.exception() is not None:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise t.exception()  # type: ignore[misc]


@app.command("run")
def run_command(
    config: Path = typer.Option(..., "-c", "--config", help="simulator file (YAML)"),
) -> None:
    """Run every simulated machine of FILE until SIGTERM or Ctrl-C."""
    setup_logging("info", service="simulators")
    try:
        sims = load_simulators(config)
    except SimulatorConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await run_machines(sims, stop)

    try:
        asyncio.run(main())
    except OSError as exc:
        typer.echo(f"sim run: cannot serve: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo("sim run: stopped")


# -- the ERP simulator (simulators/erp.py, owned by the MES engineer) --------------------------
def _register_erp() -> None:
    from simulators.erp import erp_command

    app.command("erp")(erp_command)


_register_erp()


@app.command("floor")
def floor_command(
    config: Path = typer.Option(..., "-c", "--config", help="plant file"),
    api: str = typer.Option("http://127.0.0.1:8000", help="the MES's address"),
    secrets: Path = typer.Option(
        Path("data/demo/secrets.json"), help="the station tokens (`station_tokens`) of a demo"
    ),
    badges: list[str] = typer.Option(
        [badge for badge, _ in SIM_OPERATORS],
        "--badge",
        help="an operator's badge per workstation, in order",
    ),
    every: float = typer.Option(3.0, min=0.1, help="seconds between two steps of each operator"),
    only: list[str] = typer.Option(
        [],
        "--station",
        help="a workstation the operators work at (default: every one with a token)",
    ),
) -> None:
    """The demo's operators: run the stations' jobs through the MES until Ctrl-C."""
    import json

    from config.loader import ConfigError, load_plant
    from simulators.floor import Floor, http_call, operators_for, run

    try:
        cfg = load_plant(config)
        tokens = dict(json.loads(secrets.read_text())["station_tokens"])
    except (ConfigError, OSError, ValueError, KeyError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    unknown = sorted(set(only) - {w.id for w in cfg.workstations})
    if unknown:
        typer.echo(
            f"error: --station {', '.join(unknown)}: no such workstation in {config}", err=True
        )
        raise typer.Exit(2)
    setup_logging("info", service="floor-simulator")
    stations = [w.id for w in cfg.workstations if w.id in tokens and (not only or w.id in only)]
    stations = stations[: len(badges)]
    scrap = [r.code for r in cfg.scrap_reasons] or ["BURR", "DENT", "SCRATCH"]
    reasons = [r.code for g in cfg.performance.reasons for r in g.reasons]
    cycle = {
        op.workstation: op.cycle_time_s
        for rt in cfg.routings
        for op in rt.operations
        if op.workstation
    }
    floor = Floor(
        http_call(api.rstrip("/")),
        tokens,
        operators_for(stations, badges[: len(stations)], scrap, cycle),
        reasons,
    )
    stopping = False

    def on_signal(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    run(floor, every, lambda: stopping)
    typer.echo("sim floor: stopped")
