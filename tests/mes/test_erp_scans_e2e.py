"""Done means: an ERP production order goes to confirmed and CLOSED through scans alone.

Real broker, real MES app (runtime + scan API), the ERP simulator over MQTT, two stations
scanning badges, travelers, commands, quantities, scrap and a GS1 material label."""

import uuid

from sqlmodel import Session, select

from mes.orders.models import WorkOrder
from simulators.erp import ErpSimulator
from tests.mes.orders_support import unique_site
from tests.mes.scan_harness import (
    add_operators,
    admin_token,
    enrol,
    plant_config,
    running_app,
    scan,
)
from tests.services.ports import wait_for
from uns.topics import Namespace


def test_order_to_closed_through_scans_alone(tmp_path, mosquitto):
    cfg = unique_site(plant_config(f"sqlite:///{tmp_path / 'mes.db'}", mosquitto.url, debounce_s=0))
    ns = Namespace(cfg.plant.enterprise, cfg.plant.site)
    erp = ErpSimulator(cfg.broker, ns, client_id=f"erp-{uuid.uuid4().hex[:6]}").start()
    try:
        with running_app(cfg) as (client, engine):
            admin = admin_token(client)
            add_operators(client, admin, "E1", "E2")
            t10, t20 = enrol(client, admin, "ws-10"), enrol(client, admin, "ws-20")
            erp.release("PO-SCAN-1", "BRKT-200", 10, "RT-BRKT-200")

            def number():
                with Session(engine) as s:
                    wo = s.exec(select(WorkOrder).where(WorkOrder.erp_id == "PO-SCAN-1")).first()
                    return wo.number if wo else None

            wait_for(number, 10, "the released work order")
            wo = number()

            def scans(token, station, *codes):
                for code in codes:
                    r = scan(client, token, station, code)
                    assert r.status_code == 200, (code, r.text)
                    assert r.json()["accepted"] is True, (code, r.json())

            r = scan(client, t20, "ws-20", "EMP:E2")
            assert r.status_code == 200
            r = scan(client, t20, "ws-20", f"WO:{wo}/0020")
            r = scan(client, t20, "ws-20", "CMD:START")
            assert r.status_code == 422
            assert r.json()["error"]["code"] == "OUT_OF_SEQUENCE"

            scans(
                t10,
                "ws-10",
                "EMP:E1",
                f"WO:{wo}/0010",
                "CMD:START",
                "]C1010950600013435210L2311-07\x1d3012",
                "QTY:6",
                "SCRAP:1:BURR",
                "QTY:3",
                "CMD:COMPLETE",
            )
            scans(t20, "ws-20", "CMD:START", "QTY:9", "CMD:COMPLETE")

            assert erp.wait(lambda led: any(c["final"] for c in led.for_order("PO-SCAN-1")), 10)
            confs = erp.ledger.for_order("PO-SCAN-1")
            by_op = {}
            for c in confs:
                totals = by_op.setdefault(c["operation"], {"good": 0, "scrap": 0})
                totals["good"] += c["good"]
                totals["scrap"] += c["scrap"]
            assert by_op == {"0010": {"good": 9, "scrap": 1}, "0020": {"good": 9, "scrap": 0}}
            materials = [m for c in confs for m in c["materials_consumed"]]
            # this plant's routing has no BOM line at 0010: the GTIN names the product
            assert materials == [
                {"product": "09506000134352", "lot": "L2311-07", "quantity": 12, "unit": "pcs"}
            ]
            assert {op for c in confs for op in c["operators"]} == {"E1", "E2"}

            def status():
                with Session(engine) as s:
                    return s.exec(select(WorkOrder.status).where(WorkOrder.number == wo)).one()

            wait_for(lambda: status() == "CLOSED", 10, "the ERP's ack to close the order")
    finally:
        erp.stop()
