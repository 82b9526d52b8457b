"""`shopfloor mes user|operator|station|token`: the admin CLI on a real database."""

from pathlib import Path

import yaml
from sqlmodel import Session, select
from typer.testing import CliRunner

from mes.auth.models import ApiToken, Operator, User
from mes.auth.service import hash_token
from mes.cli import app
from mes.core.audit import AuditEntry
from mes.core.db import make_engine
from tests.mes.scan_harness import PLANT


def test_admin_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/mes.core.db"
    config = tmp_path / "plant.yaml"
    config.write_text(yaml.safe_dump({**PLANT, "database": {"url": url}}))
    run = CliRunner().invoke
    r = run(
        app,
        [
            "mes",
            "user",
            "add",
            "sup1",
            "--role",
            "supervisor",
            "--password-stdin",
            "-c",
            str(config),
        ],
        input="a-long-password\n",
    )
    assert r.exit_code == 0, r.output
    r = run(
        app,
        ["mes", "user", "add", "x", "--role", "station", "--password-stdin", "-c", str(config)],
        input="a-long-password\n",
    )
    assert r.exit_code == 1
    assert "role 'station' is not one of" in r.output
    assert run(app, ["mes", "operator", "add", "E1", "Ana", "-c", str(config)]).exit_code == 0
    again = ["mes", "operator", "add", "E1", "Ana", "-c", str(config)]
    assert run(app, again).exit_code == 1  # a second add is refused ...
    assert run(app, [*again, "--exist-ok"]).exit_code == 0  # ... unless the script says so
    r = run(app, ["mes", "operator", "add", "E1", "Bea", "--exist-ok", "-c", str(config)])
    assert r.exit_code == 1  # another person's badge is still refused
    assert "belongs to 'Ana' already" in r.output
    r = run(app, ["mes", "station", "enrol", "ws-10", "-c", str(config)])
    assert r.exit_code == 0, r.output
    station_token = r.output.strip()
    r = run(app, ["mes", "station", "enrol", "ws-99", "-c", str(config)])
    assert r.exit_code == 1
    assert "no workstation 'ws-99'" in r.output
    r = run(app, ["mes", "token", "create", "erp-main", "--role", "erp", "-c", str(config)])
    assert r.exit_code == 0, r.output
    erp_token = r.output.strip()
    engine = make_engine(url)
    with Session(engine) as s:
        assert s.get(User, "sup1").role == "supervisor"  # type: ignore[union-attr]
        assert s.get(Operator, "E1").name == "Ana"  # type: ignore[union-attr]
        station = s.get(ApiToken, hash_token(station_token))
        erp = s.get(ApiToken, hash_token(erp_token))
        actions = {e.action for e in s.exec(select(AuditEntry))}
    assert station is not None
    assert (station.kind, station.subject) == ("station", "ws-10")
    assert erp is not None
    assert (erp.kind, erp.role) == ("service", "erp")
    assert {"user.add", "operator.add", "station.enrol", "token.create"} <= actions
    engine.dispose()
