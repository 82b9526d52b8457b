"""Suspend, resume and abort over HTTP: supervisor only, audited, illegal moves answered 409
with application/problem+json."""

import json

from sqlmodel import Session, col, select

from mes.core.audit import AuditEntry
from mes.production.models import ProductionEvent
from mes.wiring import production as build_production
from tests.mes.orders_support import release_message, unique_site
from tests.mes.scan_harness import add_user, admin_token, bearer, plant_config, running_app

P = build_production()


def _login(client, username: str, password: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return bearer(r.json()["access_token"])


def test_a_supervisor_suspends_resumes_and_aborts_a_work_order(tmp_path, mosquitto):
    cfg = unique_site(plant_config(f"sqlite:///{tmp_path / 'mes.db'}", mosquitto.url))
    with running_app(cfg) as (client, engine):
        admin = bearer(admin_token(client))
        add_user(engine, "sup1", "supervisor", "sup-password")
        add_user(engine, "qa1", "quality", "qa-password")
        sup = _login(client, "sup1", "sup-password")
        qa = _login(client, "qa1", "qa-password")
        r = client.post("/api/v1/tokens", json={"name": "erp", "role": "erp"}, headers=admin)
        erp = bearer(r.json()["access_token"])
        msg = release_message("PO-ADMIN", 4)
        msg["order"]["components"] = []
        number = client.post("/api/v1/erp/orders", json=msg, headers=erp).json()["work_order"]
        base = f"/api/v1/work-orders/{number}"
        why = {"reason": "urgent order first"}

        assert client.post(f"{base}/suspend", json=why).status_code == 401
        for who in (qa, admin, erp):
            r = client.post(f"{base}/suspend", json=why, headers=who)
            assert r.status_code == 403, r.text

        for action, body in (("suspend", why), ("resume", None), ("abort", why)):
            r = client.post(f"{base}/{action}", json=body, headers=sup)  # RELEASED: not yet
            assert r.status_code == 409, (action, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "ILLEGAL_STATE"
        with Session(engine) as s:
            P.start_operation(s, number, "0010", workstation="ws-10", operator="E1")
            s.commit()

        r = client.post(f"{base}/suspend", json=why, headers=sup)
        assert r.status_code == 200, r.text
        assert r.json() == {"number": number, "status": "SUSPENDED"}
        r = client.post(f"{base}/suspend", json=why, headers=sup)
        assert (r.status_code, r.json()["code"]) == (409, "ILLEGAL_STATE")
        r = client.post(f"{base}/resume", headers=sup)
        assert r.json() == {"number": number, "status": "RUNNING"}

        r = client.post(f"{base}/abort", json={"reason": ""}, headers=sup)
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("application/problem+json")
        r = client.post(f"{base}/abort", json={"reason": "die broken"}, headers=sup)
        assert r.json() == {"number": number, "status": "ABORTED"}
        r = client.post(f"{base}/resume", headers=sup)
        assert (r.status_code, r.json()["code"]) == (409, "ILLEGAL_STATE")

        r = client.post("/api/v1/work-orders/WO-999999/suspend", json=why, headers=sup)
        assert (r.status_code, r.json()["code"]) == (404, "WORK_ORDER_NOT_FOUND")

        with Session(engine) as s:
            audit = s.exec(
                select(AuditEntry)
                .where(col(AuditEntry.action).startswith("work_order."))
                .order_by(col(AuditEntry.id))
            ).all()
            kinds = s.exec(
                select(ProductionEvent.kind)
                .where(col(ProductionEvent.kind).startswith("work_order."))
                .order_by(col(ProductionEvent.id))
            ).all()
    assert [(a.actor, a.action, a.target) for a in audit] == [
        ("user:sup1", "work_order.suspend", number),
        ("user:sup1", "work_order.resume", number),
        ("user:sup1", "work_order.abort", number),
    ]
    assert json.loads(audit[0].detail_json) == why
    assert json.loads(audit[2].detail_json) == {"reason": "die broken"}
    assert kinds == ["work_order.suspended", "work_order.resumed", "work_order.aborted"]
