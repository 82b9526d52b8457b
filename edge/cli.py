"""`shopfloor edge ...`: each part of the edge registers its own commands here."""

import typer

app = typer.Typer(help="Edge agent: acquisition and northbound.", no_args_is_help=True)


def _register_all() -> None:
    from edge.drivers.modbus import cli as modbus_cli
    from edge.drivers.opcua import cli as opcua_cli
    from edge.northbound import cli as agent_cli

    agent_cli.register(app)  # run, status
    modbus_cli.register(app)  # probe
    opcua_cli.register(app)  # browse, trust


_register_all()
