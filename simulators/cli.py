"""`shopfloor sim run -c FILE` (machines) and `shopfloor sim erp` (the ERP simulator)."""

import typer

app = typer.Typer(help="Simulated machines and ERP for tests and demos.", no_args_is_help=True)
