"""`shopfloor mes ...`: serve the MES API, manage users and stations."""

import typer

app = typer.Typer(help="MES: orders, scans, alarms, quality.", no_args_is_help=True)
