"""`shopfloor sim run -c FILE` (machines) and `shopfloor sim erp` (the ERP simulator)."""

import typer

app = typer.Typer(help="Simulated machines and ERP for tests and demos.", no_args_is_help=True)


def _register_erp() -> None:
    from simulators.erp import erp_command

    app.command("erp")(erp_command)


_register_erp()
