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
    url = f"sqlite:///{tmp_path}/mes.db"
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


def test_token_lifecycle_and_user_commands(tmp_path: Path) -> None:
    """Issue 18 item 8: list, rotate and revoke tokens; deactivate and reset users; PINs."""
    url = f"sqlite:///{tmp_path}/mes.db"
    config = tmp_path / "plant.yaml"
    config.write_text(yaml.safe_dump({**PLANT, "database": {"url": url}}))
    c = ["-c", str(config)]
    run = CliRunner().invoke
    r = run(
        app,
        ["mes", "user", "add", "qa1", "--role", "quality", "--password-stdin", *c],
        input="password\n",
    )
    assert r.exit_code == 1
    assert "at least 10" in r.output
    r = run(
        app,
        ["mes", "user", "add", "qa1", "--role", "quality", "--password-stdin", *c],
        input="long-walk-home\n",
    )
    assert r.exit_code == 0, r.output
    erp = run(app, ["mes", "token", "create", "erp-main", "--role", "erp", *c]).output.strip()
    r = run(app, ["mes", "token", "list", "--kind", "service", *c])
    assert r.exit_code == 0, r.output
    (line,) = r.output.splitlines()
    tid = line.split()[0]
    assert tid == hash_token(erp)[:16]
    assert erp not in r.output
    assert line.split()[1:4] == ["service", "erp-main", "erp"]
    r = run(app, ["mes", "token", "rotate", tid, *c])
    assert r.exit_code == 0, r.output
    new = r.output.strip()
    r = run(app, ["mes", "token", "list", "--all", *c])
    assert "revoked" in r.output
    new_id = hash_token(new)[:16]
    assert run(app, ["mes", "token", "revoke", new_id, *c]).exit_code == 0
    assert run(app, ["mes", "token", "revoke", "ffffffffffffffff", *c]).exit_code == 1
    engine = make_engine(url)
    with Session(engine) as s:
        for token in (erp, new):
            row = s.get(ApiToken, hash_token(token))
            assert row is not None
            assert row.revoked
            assert row.expires_at is not None  # service tokens expire (180 days by default)
    r = run(app, ["mes", "user", "deactivate", "qa1", *c])
    assert r.exit_code == 0, r.output
    r = run(
        app,
        ["mes", "user", "reset-password", "qa1", "--password-stdin", *c],
        input="other-long-word\n",
    )
    assert r.exit_code == 0, r.output
    assert run(app, ["mes", "operator", "add", "E5", "Eve", *c]).exit_code == 0
    r = run(app, ["mes", "operator", "pin", "E5", *c], input="2580\n2580\n")
    assert r.exit_code == 0, r.output
    with Session(engine) as s:
        user = s.get(User, "qa1")
        assert user is not None
        assert user.active
        op = s.get(Operator, "E5")
        assert op is not None
        assert op.pin_hash is not None
        assert "2580" not in op.pin_hash
        actions = [e.action for e in s.exec(select(AuditEntry))]
    assert {
        "token.rotate",
        "token.revoke",
        "user.deactivate",
        "user.password",
        "operator.pin",
    } <= set(actions)
    engine.dispose()
