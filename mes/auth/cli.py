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

    from config.plant import PlantConfig

CONFIG = typer.Option(Path("config/plant.yaml"), "--config", "-c", help="plant YAML file")


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


PASSWORD_STDIN = typer.Option(
    False, "--password-stdin", help="read the password from standard input (scripts)"
)


user_app = typer.Typer(help="Supervisor, quality, owner and admin users.", no_args_is_help=True)
operator_app = typer.Typer(help="Operators and their badges.", no_args_is_help=True)
station_app = typer.Typer(help="Workstation enrolment.", no_args_is_help=True)
token_app = typer.Typer(help="Service tokens (ERP, edge, TV-wall display).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(operator_app, name="operator")
    app.add_typer(station_app, name="station")
    app.add_typer(token_app, name="token")


def _actor() -> str:
    from mes.core import audit

    try:
        return audit.actor("cli", getpass.getuser())
    except (KeyError, OSError):
        return audit.actor("cli", "unknown")


@contextmanager
def _session(config: Path) -> Iterator[tuple["Session", "PlantConfig"]]:
    from sqlmodel import Session

    from mes.auth import service
    from mes.wiring import open_database

    try:
        cfg = load_plant(config)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    engine = open_database(cfg)
    try:
        with Session(engine) as session:
            yield session, cfg
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
    password_stdin: bool = PASSWORD_STDIN,
    config: Path = CONFIG,
) -> None:
    """Add a user with a password (asked for, never taken from the command line)."""
    from mes.auth import service
    from mes.core import audit

    password = _read_password(password_stdin)
    with _session(config) as (session, cfg):
        passwords = service.Passwords(cfg.mes.security.password_min_length)
        service.add_user(session, passwords, username, role, password)
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

    with _session(config) as (session, cfg):
        if station not in {w.id for w in cfg.workstations}:
            raise service.AdminError(f"no workstation {station!r} in {config}")
        token = service.enrol_station(session, station, cfg.mes.security.station_token_days)
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
    """Print a new service token for the ERP, the edge or a TV wall (`--role display`)."""
    from mes.auth import service
    from mes.core import audit

    with _session(config) as (session, cfg):
        days = cfg.mes.security.service_token_days
        token = service.create_service_token(session, name, role, days)
        audit.record(session, _actor(), "token.create", f"service:{name}", {"role": role})
    typer.echo(token)


@user_app.command("deactivate")
def user_deactivate(
    username: str = typer.Argument(..., help="login name"), config: Path = CONFIG
) -> None:
    """Deactivate a user; their sessions end (on other replicas within 30 s)."""
    from mes.auth import service
    from mes.core import audit

    with _session(config) as (session, _):
        revoked = service.deactivate_user(session, username)
        audit.record(
            session, _actor(), "user.deactivate", f"user:{username}", {"sessions": revoked}
        )
    typer.echo(f"user {username} deactivated, {revoked} session(s) revoked")


@user_app.command("reset-password")
def user_reset_password(
    username: str = typer.Argument(..., help="login name"),
    password_stdin: bool = PASSWORD_STDIN,
    config: Path = CONFIG,
) -> None:
    """Set a new password (and reactivate the user); their sessions end."""
    from mes.auth import service
    from mes.core import audit

    password = _read_password(password_stdin)
    with _session(config) as (session, cfg):
        passwords = service.Passwords(cfg.mes.security.password_min_length)
        revoked = service.reset_password(session, passwords, username, password)
        audit.record(session, _actor(), "user.password", f"user:{username}", {"sessions": revoked})
    typer.echo(f"password of {username} set, {revoked} session(s) revoked")


@operator_app.command("pin")
def operator_pin(
    badge: str = typer.Argument(..., help="badge number"),
    remove: bool = typer.Option(False, "--remove", help="remove the PIN"),
    config: Path = CONFIG,
) -> None:
    """Set (asked for, 4-12 digits) or remove an operator's PIN for badge logins."""
    from mes.auth import service
    from mes.core import audit

    pin = None if remove else typer.prompt("PIN", hide_input=True, confirmation_prompt=True)
    with _session(config) as (session, _):
        service.set_operator_pin(session, badge, pin)
        detail = {"pin": "removed" if remove else "set"}
        audit.record(session, _actor(), "operator.pin", f"operator:{badge}", detail)
    typer.echo(f"PIN of {badge} {'removed' if remove else 'set'}")


@token_app.command("list")
def token_list(
    kind: str | None = typer.Option(None, "--kind", help="user | station | service"),
    all_: bool = typer.Option(False, "--all", help="also revoked and expired tokens"),
    config: Path = CONFIG,
) -> None:
    """Tokens, one a line: id, kind, subject, role, expiry, state (never the token)."""
    from datetime import UTC, datetime

    from mes.auth import service

    with _session(config) as (session, _):
        rows = service.list_tokens(session, kind, active=not all_)
        now = datetime.now(UTC)
        for r in rows:
            expires = service.aware(r.expires_at)
            state = "revoked" if r.revoked else "expired" if expires and expires <= now else "ok"
            until = expires.isoformat(timespec="minutes") if expires else "never"
            typer.echo(
                f"{service.token_id(r)}  {r.kind:8} {r.subject:24} {r.role:10} {until}  {state}"
            )


@token_app.command("revoke")
def token_revoke(
    token_id: str = typer.Argument(..., help="id from `token list`"), config: Path = CONFIG
) -> None:
    """Revoke a token (other replicas stop accepting it within 30 s)."""
    from mes.auth import service
    from mes.core import audit

    with _session(config) as (session, _):
        row = service.revoke_token(session, token_id)
        target = f"{row.kind}:{row.subject}"
        audit.record(session, _actor(), "token.revoke", target, {"id": token_id})
    typer.echo(f"token {token_id} ({target}) revoked")


@token_app.command("rotate")
def token_rotate(
    token_id: str = typer.Argument(..., help="id from `token list`"),
    grace_minutes: float = typer.Option(
        0, "--grace-minutes", min=0, help="the old token keeps working this long"
    ),
    config: Path = CONFIG,
) -> None:
    """Print a new token for the same station or service; the old one ends (after the grace)."""
    from mes.auth import service
    from mes.core import audit

    with _session(config) as (session, cfg):
        old = service.find_token(session, token_id)
        sec = cfg.mes.security
        days = sec.station_token_days if old.kind == "station" else sec.service_token_days
        token, row = service.rotate_token(session, token_id, days, grace_minutes)
        detail = {"id": token_id, "grace_minutes": grace_minutes}
        audit.record(session, _actor(), "token.rotate", f"{row.kind}:{row.subject}", detail)
    typer.echo(token)
