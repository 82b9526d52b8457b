"""A hold on a lot refuses reports that would put more units into that lot."""

from pathlib import Path

import pytest
from sqlmodel import Session

from mes.core.errors import Refusal
from mes.production.rules import ProducedUnit
from mes.quality import holds_service
from mes.quality.holds import Target, TargetKind
from mes.wiring import production as build_production
from tests.quality.db import database, running_work_order

P = build_production()


def test_report_into_a_held_lot_is_refused_naming_the_hold(tmp_path: Path) -> None:
    engine = database(f"sqlite:///{tmp_path / 'mes.db'}")
    running_work_order(engine)
    with Session(engine) as s:
        hold = holds_service.place_hold(
            s, Target(TargetKind.LOT, "WO-000001-L1"), "burr found", "quality", by="user:qa1"
        )
        s.commit()
        hold_id = hold.hold_id

    def report_into(lot: str) -> None:
        with Session(engine) as s:
            P.report_good(
                s,
                "WO-000001",
                "0020",
                quantity=2,
                workstation="ws-20",
                operator="E1",
                tolerance_percent=0,
                produced=[ProducedUnit(lot, quantity=2)],
            )
            s.commit()

    with pytest.raises(Refusal) as refused:
        report_into("WO-000001-L1")
    assert refused.value.code == "WORK_ORDER_HELD"
    assert f"burr found (hold {hold_id})" in str(refused.value)
    report_into("WO-000001-L2")  # another lot of the same order takes work
