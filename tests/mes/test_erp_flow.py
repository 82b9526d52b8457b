"""The ERP flow end to end over a real broker: release -> work order -> reports -> confirmations
-> ack -> CLOSED; rejections on `_erp/orders/rejected`."""

from pathlib import Path

import pytest
from sqlmodel import select

from config.plant import PlantConfig
from mes.orders.models import WorkOrder
from mes.runtime import MesRuntime
from mes.wiring import production as build_production
from simulators.erp import ErpSimulator
from tests.mes.orders_support import plant_config, plant_file, unique_site
from tests.services.ports import wait_for

P = build_production()


def runtime_config(tmp_path: Path, broker_url: str, db_url: str | None = None) -> PlantConfig:
    cfg = unique_site(plant_config(over_report_tolerance_percent=0.0))
    return cfg.model_copy(
        update={
            "broker": cfg.broker.model_copy(update={"url": broker_url}),
            "database": cfg.database.model_copy(
                update={"url": db_url or f"sqlite:///{tmp_path / 'mes.db'}"}
            ),
        }
    )


def work_order(rt: MesRuntime, erp_id: str) -> WorkOrder | None:
    with rt.session() as s:
        return s.exec(select(WorkOrder).where(WorkOrder.erp_id == erp_id)).first()


def run_order_through(rt: MesRuntime, number: str, quantity: int) -> None:
    tol = 0.0
    with rt.session() as s:
        P.start_operation(s, number, "0010", workstation="ws-10", operator="E1")
        P.report_good(
            s,
            number,
            "0010",
            quantity=quantity - 1,
            workstation="ws-10",
            operator="E1",
            tolerance_percent=tol,
        )
        P.report_scrap(
            s,
            number,
            "0010",
            quantity=1,
            reason="BURR",
            workstation="ws-10",
            operator="E1",
            tolerance_percent=tol,
        )
        P.complete_operation(s, number, "0010", workstation="ws-10", operator="E1")
        s.commit()
    with rt.session() as s:
        P.start_operation(s, number, "0020", workstation="ws-20", operator="E2")
        P.report_good(
            s,
            number,
            "0020",
            quantity=quantity - 1,
            workstation="ws-20",
            operator="E2",
            tolerance_percent=tol,
        )
        P.complete_operation(s, number, "0020", workstation="ws-20", operator="E2")
        s.commit()
    rt.notify_outbox()


@pytest.fixture
def started(tmp_path, mosquitto):
    cfg = runtime_config(tmp_path, mosquitto.url)
    rt = MesRuntime(cfg, replica=f"t-{tmp_path.name}", relay_interval_s=0.05)
    rt.start_sync()
    erp = ErpSimulator(cfg.broker, rt.ns, client_id=f"erp-{tmp_path.name}").start()
    yield rt, erp
    erp.stop()
    rt.stop_sync()


def test_release_to_closed_over_mqtt(started):
    rt, erp = started
    erp.release("PO-E2E-1", "BRKT-200", 20, "RT-BRKT-200")
    wait_for(lambda: work_order(rt, "PO-E2E-1") is not None, 10, "work order from the ERP")
    wo = work_order(rt, "PO-E2E-1")
    assert wo is not None
    assert wo.status == "RELEASED"
    assert wo.number.startswith("WO-")
    run_order_through(rt, wo.number, 20)
    assert erp.wait(lambda led: len(led.for_order("PO-E2E-1")) == 5, 10)
    confs = erp.ledger.for_order("PO-E2E-1")
    goods = [(c["operation"], c["good"], c["scrap"], c["final"]) for c in confs]
    assert goods == [
        ("0010", 19, 0, False),
        ("0010", 0, 1, False),
        ("0010", 0, 0, False),
        ("0020", 19, 0, False),
        ("0020", 0, 0, True),
    ]
    assert confs[1]["scrap_reasons"] == {"BURR": 1}
    assert confs[-1]["final"] is True
    assert confs[0]["operators"] == ["E1"]
    wait_for(lambda: work_order(rt, "PO-E2E-1").status == "CLOSED", 10, "order CLOSED")


def test_bad_messages_are_rejected_and_the_subscriber_survives(started):
    rt, erp = started
    erp.send("{not json")
    erp.send(
        {
            "v": 1,
            "message_id": "m-unknown-product",
            "type": "order.release",
            "order": {
                "erp_id": "PO-BAD-1",
                "product": "NOPE",
                "quantity": 5,
                "routing": "RT-BRKT-200",
            },
        }
    )
    erp.send(
        {
            "v": 1,
            "message_id": "m-cancel-unknown",
            "type": "order.cancel",
            "order": {"erp_id": "PO-NEVER"},
        }
    )
    assert erp.wait(lambda led: len(led.rejections) == 3, 10)
    by_code = {r["error"]["code"]: r for r in erp.ledger.rejections}
    assert set(by_code) == {"INVALID_JSON", "UNKNOWN_PRODUCT", "UNKNOWN_ORDER"}
    assert by_code["INVALID_JSON"]["received"] == "{not json"
    assert by_code["UNKNOWN_PRODUCT"]["message_id"] == "m-unknown-product"
    assert by_code["UNKNOWN_PRODUCT"]["erp_id"] == "PO-BAD-1"
    assert by_code["UNKNOWN_PRODUCT"]["received"]["order"]["product"] == "NOPE"
    assert work_order(rt, "PO-BAD-1") is None
    # still alive: a good order goes through afterwards
    erp.release("PO-OK-2", "BRKT-200", 5, "RT-BRKT-200")
    wait_for(lambda: work_order(rt, "PO-OK-2") is not None, 10, "order after bad ones")


def test_sim_erp_command_releases_orders(started, mosquitto, tmp_path):
    import os
    import subprocess
    import sys

    rt, _ = started
    plant = plant_file(tmp_path, rt.cfg.plant.site)
    exe = str(Path(sys.executable).with_name("shopfloor"))
    proc = subprocess.Popen(
        [exe, "sim", "erp", "-c", str(plant), "--orders", "2", "--quantity", "7"],
        env={**os.environ, "SHOPFLOOR_BROKER__URL": mosquitto.url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def released():
            with rt.session() as s:
                return s.exec(select(WorkOrder).where(WorkOrder.quantity == 7)).all()

        wait_for(lambda: len(released()) == 2, 30, "two orders from `shopfloor sim erp`")
        assert {w.product for w in released()} == {"BRKT-200"}
    finally:
        proc.terminate()
        proc.wait(10)


def test_orders_sent_while_the_mes_is_down_are_applied_at_restart(tmp_path, mosquitto):
    cfg = runtime_config(tmp_path, mosquitto.url)
    replica = f"r-{tmp_path.name}"
    rt = MesRuntime(cfg, replica=replica)
    rt.start_sync()
    erp = ErpSimulator(cfg.broker, rt.ns, client_id=f"erp-{tmp_path.name}").start()
    try:
        rt.stop_sync()
        erp.release("PO-WHILE-DOWN", "BRKT-200", 3, "RT-BRKT-200")
        rt2 = MesRuntime(cfg, replica=replica)  # same persistent MQTT session
        rt2.start_sync()
        try:
            wait_for(
                lambda: work_order(rt2, "PO-WHILE-DOWN") is not None,
                10,
                "the order queued at the broker while the MES was down",
            )
            applied = work_order(rt2, "PO-WHILE-DOWN")
            assert applied is not None
            assert applied.quantity == 3
        finally:
            rt2.stop_sync()
    finally:
        erp.stop()
