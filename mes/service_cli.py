"""`shopfloor mes ...`: serve the MES API, manage users and stations."""

import typer

app = typer.Typer(help="MES: orders, scans, alarms, quality.", no_args_is_help=True)


def _register_admin_commands() -> None:
    from mes.auth import cli as auth_cli

    auth_cli.register(app)  # user add, operator add, station enrol, token create


_register_admin_commands()
