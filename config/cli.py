"""`shopfloor config ...`"""

from pathlib import Path

import typer

from config.loader import ConfigError, load_plant

app = typer.Typer(help="Plant configuration.", no_args_is_help=True)


@app.command("check")
def check(file: Path = typer.Argument(..., help="plant YAML file")) -> None:
    """Validate a plant file without starting anything."""
    try:
        cfg = load_plant(file)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    tags = sum(len(d.tags) for d in cfg.devices)
    typer.echo(
        f"{file}: ok ({len(cfg.devices)} devices, {tags} tags, "
        f"{len(cfg.workstations)} workstations, {len(cfg.routings)} routings, "
        f"{len(cfg.alarms)} alarms)"
    )


def _register_acl() -> None:
    from config.broker_acl import acl_command

    app.command("acl")(acl_command)


_register_acl()
