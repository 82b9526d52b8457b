"""`shopfloor edge ...`: each part of the edge registers its own commands here."""

import typer

app = typer.Typer(help="Edge agent: acquisition and northbound.", no_args_is_help=True)


def _register_all() -> None:
    from edge.drivers.registry import built_in
    from edge.northbound import cli as agent_cli

    agent_cli.register(app)  # run, status
    built_in().register_cli(app)  # each driver's own verbs (modbus probe, opcua browse/trust)


_register_all()
