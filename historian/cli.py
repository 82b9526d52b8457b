"""`shopfloor historian run` and `shopfloor history TAG`."""

import re
import signal
import threading
import time
from pathlib import Path

import typer

from config.loader import ConfigError, load_plant
from config.plant import PlantConfig

app = typer.Typer(help="Historian: telemetry into the time-series store.", no_args_is_help=True)

_SINCE = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_since(text: str) -> int:
    """`10m` -> milliseconds."""
    m = _SINCE.match(text.strip())
    if not m:
        raise typer.BadParameter(f"{text!r}: expected a duration like 30s, 10m, 2h or 1d")
    return int(float(m.group(1)) * _UNIT_MS[m.group(2)])


def _load(config: Path) -> PlantConfig:
    try:
        return load_plant(config)
    except ConfigError as exc:
        typer.echo(exc.report(), err=True)
        raise typer.Exit(2) from None


@app.command("run")
def run(
    config: Path = typer.Option(..., "-c", "--config", help="plant YAML file"),
    log_level: str = typer.Option("INFO", "--log-level"),
) -> None:
    """Subscribe to all telemetry and write it to the time-series store (or the embedded one)."""
    from prometheus_client import start_http_server

    from config.logs import setup_logging
    from historian.metrics import historian_registry
    from historian.service import Historian
    from uns.client import BrokerUnreachable, probe_with_retries

    cfg = _load(config)
    setup_logging(log_level, service="historian")
    try:
        protocol = probe_with_retries(cfg.broker)
    except BrokerUnreachable as exc:
        typer.echo(f"historian cannot start: {exc}", err=True)
        raise typer.Exit(1) from None
    hist = Historian(cfg, protocol)
    h = cfg.historian
    if h.metrics_port is not None:
        try:
            start_http_server(h.metrics_port, h.bind, registry=historian_registry(hist.stats))
        except OSError as exc:
            typer.echo(
                f"historian cannot start: cannot listen on {h.bind}:{h.metrics_port} "
                f"(historian.metrics_port): {exc.strerror}",
                err=True,
            )
            raise typer.Exit(1) from None
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    hist.start()
    stop.wait()
    hist.stop()


def history(
    tag: str = typer.Argument(..., help="TAG, or DEVICE.TAG / DEVICE/TAG"),
    since: str = typer.Option("10m", "--since", help="how far back: 30s, 10m, 2h, 1d"),
    config: Path = typer.Option(Path("config/plant.yaml"), "-c", "--config"),
    limit: int = typer.Option(1000, "--limit", min=1),
    store: Path | None = typer.Option(
        None, "--store", help="embedded store file (default: from the plant file)"
    ),
) -> None:
    """Print recent values of a tag from the embedded history store."""
    from historian.stores import query_history

    if store is None:
        cfg = _load(config)
        if cfg.historian.url:
            typer.echo(
                f"history is kept by {cfg.historian.url}: query it there (e.g. Grafana)", err=True
            )
            raise typer.Exit(2)
        store = Path(cfg.historian.embedded_path)
    device = None
    for sep in ("/", "."):
        if sep in tag:
            device, tag = tag.split(sep, 1)
            break
    since_ms = int(time.time() * 1000) - parse_since(since)
    try:
        samples = query_history(store, tag, since_ms, device, limit)
    except FileNotFoundError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if not samples:
        typer.echo(f"no values of {tag!r} in the last {since}")
        return
    for s in samples:
        at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s.ts / 1000)) + f".{s.ts % 1000:03d}Z"
        reason = f" ({s.reason})" if s.reason else ""
        typer.echo(f"{at}  {s.device:<16} {s.tag:<24} {s.value!s:>14}  {s.quality}{reason}")


def register_history(root: typer.Typer) -> None:
    """Add `shopfloor history TAG --since 10m` to the root command."""
    root.command("history")(history)


@app.command("dashboards")
def dashboards(
    config: Path = typer.Option(..., "-c", "--config", help="plant YAML file"),
    out: Path = typer.Option(Path("config/grafana/dashboards"), "-o", "--out"),
) -> None:
    """Write one Grafana dashboard per machine (its tags and their quality) as JSON files."""
    import json

    from historian.grafana import all_dashboards

    cfg = _load(config)
    out.mkdir(parents=True, exist_ok=True)
    for name, board in all_dashboards(cfg).items():
        (out / name).write_text(json.dumps(board, indent=2) + "\n")
        typer.echo(f"wrote {out / name}")
