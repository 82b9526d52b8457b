"""Commands this part adds to `shopfloor edge`."""

import typer


def register(app: typer.Typer) -> None:
    """Add this part's commands to the `edge` command group."""
