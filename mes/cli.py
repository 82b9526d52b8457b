"""The `shopfloor` command: one entry point for every service of the plant."""

import typer

from config.cli import app as config_app

app = typer.Typer(help="shopfloor: edge gateway and MES.", no_args_is_help=True)
app.add_typer(config_app, name="config")


def main() -> None:
    app()
