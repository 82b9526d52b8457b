"""The `shopfloor` command: one entry point for every service of the plant."""

import typer

from config.cli import app as config_app
from config.pki_cli import app as pki_app
from edge.cli import app as edge_app
from historian.cli import app as historian_app
from historian.cli import register_history
from mes.service_cli import app as mes_app
from simulators.cli import app as sim_app

app = typer.Typer(help="shopfloor: edge gateway and MES.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(edge_app, name="edge")
app.add_typer(historian_app, name="historian")
app.add_typer(mes_app, name="mes")
app.add_typer(pki_app, name="pki")
app.add_typer(sim_app, name="sim")
register_history(app)


@app.command()
def demo(
    free: list[str] = typer.Option(
        [],
        "--free",
        help="a workstation left to you: no simulated operator works there (repeatable)",
    ),
) -> None:
    """Run a whole plant on this machine: simulators, edge, broker, historian, MES, ERP."""
    from mes.demo import run_demo

    run_demo(free=free)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
