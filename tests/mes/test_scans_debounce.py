"""Debounce is for one physical scan seen twice, over HTTP against the real app: per-part
reports each count, a refusal is never hidden behind `scan.ignored`, and a double read of a
badge or a command is still ignored."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from config.plant import Mes
from mes.production import work_orders
from tests.mes.orders_support import release
from tests.mes.scan_harness import (
    add_operators,
    admin_token,
    bearer,
    enrol,
    plant_config,
    running_app,
    scan,
)
from tests.services.mosquitto import Mosquitto


class Line:
    """ws-10 with operator E1 logged in on a started operation; scans at chosen times."""

    def __init__(self, client: Any, engine: Any) -> None:
        self.client, self.engine = client, engine
        admin = admin_token(client)
        add_operators(client, admin, "E1")
        self.token = enrol(client, admin, "ws-10")
        self.t0 = datetime.now(UTC)
        self.wo = release(engine, quantity=100)

    def at(self, seconds: float, code: str) -> Any:
        when = (self.t0 + timedelta(seconds=seconds)).isoformat()
        return scan(self.client, self.token, "ws-10", code, scanned_at=when)

    def start(self) -> None:
        for i, code in enumerate(("EMP:E1", f"WO:{self.wo}/0010", "CMD:START")):
            assert self.at(i, code).status_code == 200


@pytest.fixture
def line(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[Line]:
    # a window of 2 s as plants had it: the rules below hold whatever the window
    cfg = plant_config(f"sqlite:///{tmp_path / 'mes.db'}", mosquitto.url, debounce_s=2.0)
    with running_app(cfg) as (client, engine):
        yield Line(client, engine)


def test_one_qty_label_per_part_counts_every_part(line: Line) -> None:
    line.start()
    answers = [line.at(10 + 0.2 * i, "QTY:1") for i in range(12)]  # five parts a second
    assert [a.json()["action"] for a in answers] == ["operation.report_good"] * 12
    assert answers[-1].json()["station_state"]["job"]["good"] == 12
    scrap = [line.at(20 + 0.2 * i, "SCRAP:1:BURR") for i in range(3)]
    assert [a.json()["action"] for a in scrap] == ["operation.report_scrap"] * 3
    log = line.client.get("/api/v1/stations/ws-10/scans", headers=bearer(line.token)).json()
    assert "scan.ignored" not in [e["action"] for e in log]


def test_a_refusal_is_never_hidden_by_debounce(line: Line) -> None:
    line.start()
    assert line.at(10, "QTY:1").status_code == 200
    with Session(line.engine) as s:
        work_orders.hold_work_order(s, line.wo, "H-1", reason="oven temperature excursion")
        s.commit()
    r = line.at(10.5, "QTY:1")  # same code, inside the window, on a held order
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "WORK_ORDER_HELD"
    # a command repeated in the window that would now be refused is answered as refused
    r = line.at(11, "CMD:START")
    assert r.status_code == 422, r.text
    assert r.json()["accepted"] is False


def test_a_double_read_that_would_act_again_is_still_ignored(line: Line) -> None:
    assert line.at(0, "EMP:E1").json()["action"] == "operator.login"
    r = line.at(0.1, "EMP:E1")  # would log E1 out again: a double read
    assert r.status_code == 200
    assert r.json()["action"] == "scan.ignored"
    assert [o["badge"] for o in r.json()["station_state"]["operators"]] == ["E1"]
    assert line.at(5, "EMP:E1").json()["action"] == "operator.logout"


def test_the_default_window_is_a_double_read_not_a_part() -> None:
    assert 0 < Mes().debounce_s < 0.5
