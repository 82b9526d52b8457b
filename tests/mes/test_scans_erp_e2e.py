"""Issue 5, "done means": an ERP order over MQTT goes to confirmed and CLOSED through scans alone.

The ERP simulator releases the order on `_erp/orders`, the stations scan it through the API of
a real server, the ERP receives the confirmations on `_mes/confirmations` and acknowledges the
final one on `_erp/acks`: the work order is CLOSED.
"""

import uuid
from pathlib import Path

import httpx
from sqlmodel import Session, select

from config.plant import Broker
from mes.orders.models import WorkOrder
from simulators.erp import ErpSimulator
from tests.mes.scan_harness import plant_config, served
from tests.services.mosquitto import Mosquitto
from tests.services.ports import wait_for
from uns.topics import Namespace


def test_order_closed_through_scans_alone(tmp_path: Path, mosquitto: Mosquitto) -> None:
    cfg = plant_config(f"sqlite:///{tmp_path}/mes.db", mosquitto.url)
    erp = ErpSimulator(
        Broker(url=mosquitto.url),
        Namespace(cfg.plant.enterprise, cfg.plant.site),
        client_id=f"erp-{uuid.uuid4().hex[:6]}",
    ).start()
    try:
        with served(cfg) as (base, engine):

            def work_order() -> WorkOrder | None:
                with Session(engine) as s:
                    return s.exec(select(WorkOrder).where(WorkOrder.erp_id == "PO-E2E")).first()

            erp.release("PO-E2E", "BRKT-200", 12, "RT-BRKT-200")
            wait_for(lambda: work_order() is not None, 15, "the released work order")
            wo = work_order()
            assert wo is not None
            assert wo.number is not None
            admin = httpx.post(
                f"{base}/api/v1/auth/login",
                json={"username": "admin", "password": "admin-secret-1"},
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {admin}"}
            httpx.post(f"{base}/api/v1/operators", json={"badge": "E1", "name": "A"}, headers=auth)
            tokens = {
                ws: httpx.post(f"{base}/api/v1/stations/{ws}/enrol", headers=auth).json()[
                    "access_token"
                ]
                for ws in ("ws-10", "ws-20")
            }

            def scan(ws: str, code: str) -> None:
                r = httpx.post(
                    f"{base}/api/v1/scans",
                    json={"station": ws, "code": code, "event_id": str(uuid.uuid4())},
                    headers={"Authorization": f"Bearer {tokens[ws]}"},
                )
                assert r.status_code == 200, r.text

            for code in ("EMP:E1", f"WO:{wo.number}/0010", "CMD:START", "QTY:10"):
                scan("ws-10", code)
            for code in ("SCRAP:2:BURR", "CMD:COMPLETE"):
                scan("ws-10", code)
            for code in ("EMP:E1", f"WO:{wo.number}", "CMD:START", "QTY:10", "CMD:COMPLETE"):
                scan("ws-20", code)
            wait_for(lambda: erp.ledger.finals(), 15, "the final confirmation at the ERP")
            wait_for(lambda: (work_order() or wo).status == "CLOSED", 15, "the work order to close")
            confs = erp.ledger.for_order("PO-E2E")
            assert sum(c["good"] for c in confs if c["operation"] == "0010") == 10
            assert sum(c["scrap"] for c in confs) == 2
            assert [c["final"] for c in confs].count(True) == 1
            assert confs[-1]["final"] is True
    finally:
        erp.stop()
