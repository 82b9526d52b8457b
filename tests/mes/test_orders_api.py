"""The orders REST API inside the real app: ERP intake with a service token, role checks,
work-order views, genealogy routes, and the final ack over REST closing the order."""

from sqlmodel import Session

from mes.production.rules import Material
from mes.wiring import production as build_production
from tests.mes.orders_support import order_message, release_message, unique_site
from tests.mes.scan_harness import admin_token, bearer, plant_config, running_app

P = build_production()


def test_erp_over_rest(tmp_path, mosquitto):
    cfg = unique_site(plant_config(f"sqlite:///{tmp_path / 'mes.db'}", mosquitto.url))
    with running_app(cfg) as (client, engine):
        admin = admin_token(client)
        r = client.post(
            "/api/v1/tokens", json={"name": "erp", "role": "erp"}, headers=bearer(admin)
        )
        assert r.status_code == 201, r.text
        erp = bearer(r.json()["access_token"])

        msg = release_message("PO-REST", 4)
        msg["order"]["components"] = []
        assert client.post("/api/v1/erp/orders", json=msg).status_code == 401
        r = client.post("/api/v1/erp/orders", json=msg, headers=bearer(admin))
        assert r.status_code == 403  # admin manages users, does not release orders
        r = client.post("/api/v1/erp/orders", json=msg, headers=erp)
        assert r.status_code == 200, r.text
        number = r.json()["work_order"]
        assert r.json()["outcome"] == "applied"
        again = client.post("/api/v1/erp/orders", json=msg, headers=erp)
        assert again.json() == {**r.json(), "outcome": "duplicate"}

        bad = client.post(
            "/api/v1/erp/orders",
            json=order_message("order.change", "PO-REST", quantity=0),
            headers=erp,
        )
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("application/problem+json")
        assert bad.json()["code"] == "INVALID_MESSAGE"
        r = client.post(
            "/api/v1/erp/orders", json=release_message("PO-X", 1, product="NOPE"), headers=erp
        )
        assert r.json()["code"] == "UNKNOWN_PRODUCT"

        r = client.get(f"/api/v1/work-orders/{number}", headers=erp)
        assert r.status_code == 200
        body = r.json()
        assert [o["number"] for o in body["operations"]] == ["0010", "0020"]
        assert body["status"] == "RELEASED"
        assert client.get("/api/v1/work-orders/WO-999999", headers=erp).status_code == 404

        with Session(engine) as s:
            P.start_operation(s, number, "0010", workstation="ws-10", operator="E1")
            P.consume_material(
                s,
                number,
                "0010",
                workstation="ws-10",
                operator="E1",
                material=Material(
                    gtin="09506000134352", lot="L2311-07", quantity=12, product="STEEL-2MM"
                ),
            )
            P.report_good(
                s,
                number,
                "0010",
                quantity=4,
                workstation="ws-10",
                operator="E1",
                tolerance_percent=0,
            )
            P.complete_operation(s, number, "0010", workstation="ws-10", operator="E1")
            P.start_operation(s, number, "0020", workstation="ws-20", operator="E1")
            P.report_good(
                s,
                number,
                "0020",
                quantity=4,
                workstation="ws-20",
                operator="E1",
                tolerance_percent=0,
            )
            ev = P.complete_operation(s, number, "0020", workstation="ws-20", operator="E1")
            final = ev.confirmation_message_id
            s.commit()

        fwd = client.get("/api/v1/genealogy/forward", params={"code": "L2311-07"}, headers=erp)
        assert fwd.status_code == 200
        assert [n["work_order"] for n in fwd.json()["nodes"]] == [number]
        assert (
            client.get(
                "/api/v1/genealogy/backward", params={"code": "nope"}, headers=erp
            ).status_code
            == 404
        )

        r = client.post("/api/v1/erp/acks", json={"message_id": final}, headers=erp)
        assert r.json() == {"closed": number}
        r = client.get("/api/v1/work-orders", params={"status": "closed"}, headers=erp)
        assert [w["number"] for w in r.json()] == [number]
