"""The writer's per-batch reads (station rows, operators, workstations, the quality-hold gate)
give the same answers as per-scan queries, on a real SQLite database."""

import json
import uuid
from concurrent.futures import Future

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from mes.core.audit import AuditEntry
from mes.core.batch import Batch, begin
from mes.core.errors import Refusal, RefusalCode
from mes.orders.intake import apply_erp_message
from mes.orders.models import Operation
from mes.outbox.models import OutboxMessage
from mes.production import genealogy
from mes.production.models import GenealogyLink, Lot, ProductionEvent
from mes.quality.holds import Target, TargetKind
from mes.quality.holds_service import place_hold
from mes.quality.policy import QualityHolds
from mes.reporting.handler import Answer, StationRequest
from mes.reporting.models import ScanRecord, StationLogin
from mes.reporting.writer import ScanWriter
from mes.wiring import production as build_production
from mes.wiring import scan_writer, station_handler
from tests.mes import test_scans_writer as writer_cases

production = build_production()

#: the same database fixture and request builder as the writer's own tests
engine = writer_cases.engine
request = writer_cases.request
GTIN = "09506000134352"


def release(engine: Engine, erp_id: str, quantity: int = 10) -> str:
    message = {
        "v": 1,
        "message_id": uuid.uuid4().hex,
        "type": "order.release",
        "order": {
            "erp_id": erp_id,
            "product": "BRKT-200",
            "quantity": quantity,
            "routing": "RT-MULTI",
        },
    }
    with Session(engine) as s:
        result = apply_erp_message(s, json.dumps(message))
        s.commit()
    assert result.work_order is not None
    return result.work_order


def batch(writer: ScanWriter, *requests: StationRequest) -> list[Answer]:
    items: list[tuple[StationRequest, Future[Answer]]] = [(r, Future()) for r in requests]
    writer._process(items)  # type: ignore[arg-type]
    return [f.result(0) for _, f in items]


def running(writer: ScanWriter, wo: str) -> None:
    """ws-01 with E1 logged in, working `wo`."""
    for code in ("EMP:E1", f"WO:{wo}", "CMD:START"):
        assert batch(writer, request("ws-01", code))[0].status == 200


def test_one_batch_of_three_stations_reads_each_ones_own_state(engine: Engine) -> None:
    orders = [release(engine, f"PO-{i}") for i in range(3)]
    writer = scan_writer(engine, station_handler(0.0))
    stations = ["ws-01", "ws-02", "ws-03"]
    # the first batch creates the station rows; the later ones find them locked by prefetch
    assert all(a.status == 200 for a in batch(writer, *(request(s, "EMP:E1") for s in stations)))
    jobs = batch(writer, *(request(s, f"WO:{wo}") for s, wo in zip(stations, orders, strict=True)))
    assert [a.body["station_state"]["work_order"] for a in jobs] == orders
    batch(writer, *(request(s, "CMD:START") for s in stations))
    # ws-02 logs out inside the batch: its next scan (same batch) has nobody logged in
    answers = batch(
        writer,
        request("ws-01", "QTY:2"),
        request("ws-02", "CMD:LOGOUT"),
        request("ws-02", "QTY:1"),
        request("ws-03", "QTY:3"),
    )
    assert [a.status for a in answers] == [200, 200, 422, 200]
    assert answers[2].body["error"]["code"] == "NO_OPERATOR"
    assert answers[0].body["station_state"]["operators"] == [{"badge": "E1", "name": "Ana"}]
    # the job summary of each answer is its own order's, with the quantity just reported
    assert answers[0].body["station_state"]["job"]["good"] == 2
    assert answers[3].body["station_state"]["job"]["good"] == 3
    # the refusal made the writer redo the batch with savepoints: the neighbours' effects and
    # ws-02's logout (same batch, before its refused scan) are committed once, nothing twice
    with Session(engine) as s:
        goods = sorted(op.good for op in s.exec(select(Operation)).all())
        logins = sorted(s.exec(select(StationLogin.station)).all())
        events = s.exec(select(ProductionEvent).where(ProductionEvent.kind == "quantity.good"))
        assert len(events.all()) == 2
        # the journal rows (outbox, audit, scan log) of the redone batch: each once, and
        # none for what the refusal rolled back
        confirmations = s.exec(select(OutboxMessage.payload)).all()
        assert sorted(json.loads(p)["good"] for p in confirmations) == [2, 3]
        reports = s.exec(select(AuditEntry).where(AuditEntry.action == "quantity.good")).all()
        assert len(reports) == 2
        assert len(s.exec(select(ScanRecord.event_id)).all()) == 3 + 3 + 3 + 4
    assert goods == [0, 2, 3]
    assert logins == ["ws-01", "ws-03"]


def test_a_hold_committed_before_the_batch_refuses_its_reports(engine: Engine) -> None:
    wo = release(engine, "PO-H")
    writer = scan_writer(engine, station_handler(0.0))
    running(writer, wo)
    with Session(engine) as s:
        place_hold(s, Target(TargetKind.WORKSTATION, "ws-01"), "press die cracked", "qa", "user:qa")
        s.commit()
    (answer,) = batch(writer, request("ws-01", "QTY:1"))
    assert answer.status == 422
    assert answer.body["error"]["code"] == RefusalCode.WORK_ORDER_HELD
    assert "press die cracked" in answer.body["error"]["message"]


def test_a_hold_placed_in_the_same_session_is_seen_by_the_next_report(engine: Engine) -> None:
    wo = release(engine, "PO-S")
    writer = scan_writer(engine, station_handler(0.0))
    running(writer, wo)
    with Session(engine) as s:
        context = Batch()
        begin(s, context)
        QualityHolds().gate(s, context)  # no hold anywhere: the per-report lookups are skipped
        assert context.holds_possible is False
        production.report_good(
            s, wo, None, quantity=1, workstation="ws-01", operator="E1", tolerance_percent=0
        )
        place_hold(s, Target(TargetKind.WORKSTATION, "ws-01"), "burr on edge", "qa", "user:qa")
        assert context.holds_possible is True
        with pytest.raises(Refusal) as refused:
            production.report_good(
                s, wo, None, quantity=1, workstation="ws-01", operator="E1", tolerance_percent=0
            )
    assert refused.value.code == RefusalCode.WORK_ORDER_HELD
    assert "burr on edge" in refused.value.message


def test_a_batch_links_what_it_consumes_into_what_it_produces(engine: Engine) -> None:
    """The batch's work order, operations and lots are read once, at its start: a lot consumed
    in the batch must still go into the lot reported after it, also when a refusal makes the
    writer redo the batch with savepoints, and nothing may be created twice."""
    wo = release(engine, "PO-G", quantity=20)
    writer = scan_writer(engine, station_handler(0.0))
    running(writer, wo)
    first = batch(
        writer, request("ws-01", f"]C101{GTIN}10L-STEEL-1\x1d305"), request("ws-01", "QTY:1")
    )
    assert [a.status for a in first] == [200, 200]
    with Session(engine) as s:
        assert len(s.exec(select(GenealogyLink)).all()) == 1
    second = batch(
        writer,
        request("ws-02", "QTY:1"),  # nobody logged in at ws-02: refused
        request("ws-01", f"]C101{GTIN}10L-STEEL-2\x1d305"),
        request("ws-01", "QTY:2"),
    )
    assert [a.status for a in second] == [422, 200, 200]
    assert second[2].body["station_state"]["job"]["good"] == 3
    with Session(engine) as s:
        produced = s.exec(select(Lot).where(Lot.work_order_id != None)).all()  # noqa: E711
        assert [lot.code for lot in produced] == [f"BRKT-200-{wo[3:]}"]
        assert len(s.exec(select(GenealogyLink)).all()) == 2
        back = genealogy.trace_backward(s, produced[0].code)
        assert sorted((n.code, n.depth) for n in back) == [("L-STEEL-1", 1), ("L-STEEL-2", 1)]
        assert s.exec(select(Operation.good)).one() == 3
