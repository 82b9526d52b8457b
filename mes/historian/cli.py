"""`shopfloor historian run` and `shopfloor history TAG`."""

import typer

app = typer.Typer(help="Historian: telemetry into the time-series store.", no_args_is_help=True)


def register_history(root: typer.Typer) -> None:
    """Add `shopfloor history TAG --since 10m` to the root command."""
