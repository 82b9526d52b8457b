"""`shopfloor mes user|operator|station|token ...`: administration from the command line.

Each command migrates the database to head first (so it works on a fresh install), applies one
change with an audit entry by `cli:<os user>`, and prints any new token once.
"""

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from config.loader import ConfigError, load_plant
from mes.auth.roles import SERVICE_ROLES, USER_ROLES

if TYPE_CHECKING:  # the database stack loads only when a command runs (not in `edge run`)
    from sqlmodel import Session

CONFIG = typer.Option(Path("config/plant.yaml"), "--config", "-c", help="plant YAML file")

user_app = typer.Typer(help="Supervisor, quality and admin users.", no_args_is_help=True)
operator_app = typer.Typer(help="Operators and their badges.", no_args_is_help=True)
station_app = typer.Typer(help="Workstation enrolment.", no_args_is_help=True)
token_app = typer.Typer(help="Service tokens (ERP, edge).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(operator_app, name="operator")
    app.add_typer(station_app, name="station")
    app.add_typer(token_app, name="token")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):
        return "cli"


@contextmanager
def _session(config: Path) -> Iterator[tuple["Session", list[str]]]:
    from sqlmodel import Session

    from mes.auth import service
    from mes.core.db import make_engine
    from mes.migrations.run import upgrade_head

    try:
        cfg = load_plant(config)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    engine = make_engine(cfg.database.url)
    try:
        upgrade_head(engine)
        with Session(engine) as session:
            yield session, [w.id for w in cfg.workstations]
            session.commit()
    except service.AdminError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


@user_app.command("add")
def user_add(
    username: str = typer.Argument(..., help="login name"),
    role: str = typer.Option(..., "--role", help=" | ".join(r.value for r in USER_ROLES)),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="read the password from standard input (scripts)"
    ),
    config: Path = CONFIG,
) -> None:
    """Add a user with a password (asked for, never taken from the command line)."""
    from mes.auth import service
    from mes.core import audit

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _session(config) as (session, _):
        service.add_user(session, service.Passwords(), username, role, password)
        audit.record(session, _actor(), "user.add", f"user:{username}", {"role": role})
    typer.echo(f"user {username} ({role}) added")


@operator_app.command("add")
def operator_add(
    badge: str = typer.Argument(..., help="badge number, scanned as EMP:<badge>"),
    name: str = typer.Argument(..., help="the operator's name"),
    exist_ok: bool = typer.Option(
        False, "--exist-ok", help="succeed if the badge already is this operator's (scripts)"
    ),
    config: Path = CONFIG,
) -> None:
    """Add an operator (or reactivate a badge)."""
    from mes.auth import service
    from mes.auth.models import Operator
    from mes.core import audit

    with _session(config) as (session, _):
        current = session.get(Operator, badge)
        if exist_ok and current is not None and current.active and current.name == name:
            typer.echo(f"operator {badge} ({name}) exists")
            return
        service.add_operator(session, badge, name)
        audit.record(session, _actor(), "operator.add", f"operator:{badge}", {"name": name})
    typer.echo(f"operator {badge} ({name}) added")


@station_app.command("enrol")
def station_enrol(
    station: str = typer.Argument(..., help="workstation id from the plant file"),
    config: Path = CONFIG,
    url: str | None = typer.Option(
        None, "--url", envvar="SHOPFLOOR_MES_URL", help="MES address: also print link and QR"
    ),
) -> None:
    """Print a new station token (earlier tokens of this station stop working); with --url, also
    the enrolment link and its QR code (on stderr: stdout stays the token alone)."""
    from mes.auth import service
    from mes.core import audit

    with _session(config) as (session, stations):
        if station not in stations:
            raise service.AdminError(f"no workstation {station!r} in {config}")
        token = service.enrol_station(session, station)
        audit.record(session, _actor(), "station.enrol", f"station:{station}", station=station)
    typer.echo(token)
    if url:
        from mes.auth.enrolment_link import enrolment_link, qr_text

        link = enrolment_link(url, station, token)
        typer.echo(f"{qr_text(link)}\nopen on the station's tablet (or scan): {link}", err=True)


@token_app.command("create")
def token_create(
    name: str = typer.Argument(..., help="service name, e.g. erp-main"),
    role: str = typer.Option(..., "--role", help=" | ".join(r.value for r in SERVICE_ROLES)),
    config: Path = CONFIG,
) -> None:
    """Print a new service token for the ERP or the edge."""
    from mes.auth import service
    from mes.core import audit

    with _session(config) as (session, _):
        token = service.create_service_token(session, name, role)
        audit.record(session, _actor(), "token.create", f"service:{name}", {"role": role})
    typer.echo(token)
