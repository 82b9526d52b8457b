"""`shopfloor mes station enrol --url`: the token alone on stdout (scripts keep working), the
enrolment link and its QR code on stderr; the token rides in the fragment only."""

from pathlib import Path

import yaml
from typer.testing import CliRunner

from mes.auth.enrolment_link import enrolment_link, qr_text
from mes.cli import app
from tests.mes.scan_harness import PLANT


def test_enrol_prints_link_and_qr(tmp_path: Path) -> None:
    config = tmp_path / "plant.yaml"
    config.write_text(yaml.safe_dump({**PLANT, "database": {"url": f"sqlite:///{tmp_path}/m.db"}}))
    args = ["mes", "station", "enrol", "ws-10", "-c", str(config)]
    r = CliRunner().invoke(app, [*args, "--url", "http://mes.local:8000/"])
    assert r.exit_code == 0, r.output
    token = r.stdout.strip()
    assert "\n" not in token
    link = f"http://mes.local:8000/station/ws-10#token={token}"
    assert enrolment_link("http://mes.local:8000/", "ws-10", token) == link
    assert link in r.stderr
    assert qr_text(link) in r.stderr
    assert "\u2588" in qr_text(link) or "\u2580" in qr_text(link)  # drawn in block characters
    plain = CliRunner().invoke(app, args)
    assert plain.stderr == ""  # without --url: just the token, as before
