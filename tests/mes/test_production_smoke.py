# ruff: noqa: F811 - pytest fixtures are imported from orders_support
from sqlmodel import Session

from mes.wiring import production as build_production
from tests.mes.orders_support import db_url, engine, outbox, pg_template, plant, release  # noqa: F401

P = build_production()


def test_release_start_report_complete(engine):
    wo = release(engine, quantity=10)
    with Session(engine) as s:
        P.start_operation(s, wo, "0010", workstation="ws-10", operator="E1")
        P.report_good(
            s, wo, "0010", quantity=10, workstation="ws-10", operator="E1", tolerance_percent=0
        )
        P.complete_operation(s, wo, "0010", workstation="ws-10", operator="E1")
        P.start_operation(s, wo, "0020", workstation="ws-20", operator="E2")
        P.report_good(
            s, wo, "0020", quantity=10, workstation="ws-20", operator="E2", tolerance_percent=0
        )
        P.complete_operation(s, wo, "0020", workstation="ws-20", operator="E2")
        s.commit()
    confs = outbox(engine, "confirmation")
    assert [c["good"] for c in confs] == [10, 0, 10, 0]
    assert confs[-1]["final"] is True
