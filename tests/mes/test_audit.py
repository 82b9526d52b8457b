"""One spelling of the audit actor everywhere, and the audit API: a walk over the real app
through every audited action reachable over HTTP and MQTT-free intake, then queries."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from mes.core import audit
from mes.core.audit import AuditEntry
from mes.orders.acks import apply_ack
from tests.mes.orders_support import order_message, release_message, unique_site
from tests.mes.scan_harness import (
    add_user,
    admin_token,
    bearer,
    enrol,
    plant_config,
    running_app,
    scan,
)
from tests.services.mosquitto import Mosquitto

ACTOR = re.compile(r"^(user|station|service|operator|cli|system):[^:\s][^\s]*$")


def login(client: Any, user: str, password: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    return bearer(r.json()["access_token"])


def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def test_every_audited_action_has_one_actor_spelling_and_the_api_finds_it(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    cfg = unique_site(plant_config(f"sqlite:///{tmp_path / 'mes.db'}", mosquitto.url, debounce_s=0))
    started = datetime.now(UTC) - timedelta(seconds=1)
    with running_app(cfg) as (client, engine):
        admin = bearer(admin_token(client))
        ok(
            client.post(
                "/api/v1/users",
                json={"username": "sup1", "role": "supervisor", "password": "sup-password-1"},
                headers=admin,
            ),
            201,
        )
        add_user(engine, "qa1", "quality", "qa-password-1")
        sup, qa = login(client, "sup1", "sup-password-1"), login(client, "qa1", "qa-password-1")
        ok(
            client.post("/api/v1/operators", json={"badge": "E1", "name": "Op E1"}, headers=admin),
            201,
        )
        ok(
            client.post("/api/v1/operators", json={"badge": "E9", "name": "Op E9"}, headers=admin),
            201,
        )
        ok(client.delete("/api/v1/operators/E9", headers=admin), 204)
        station = enrol(client, admin["Authorization"].split()[1], "ws-10")
        erp = bearer(
            ok(
                client.post("/api/v1/tokens", json={"name": "erp", "role": "erp"}, headers=admin),
                201,
            )["access_token"]
        )
        # orders: release, replace, change, cancel (ERP over REST)
        msg = release_message("PO-A1", 10)
        msg["order"]["components"] = []
        wo = ok(client.post("/api/v1/erp/orders", json=msg, headers=erp))["work_order"]
        ok(client.post("/api/v1/erp/orders", json={**msg, "message_id": "m-replace"}, headers=erp))
        ok(
            client.post(
                "/api/v1/erp/orders",
                json=order_message("order.change", "PO-A1", quantity=12),
                headers=erp,
            )
        )
        other = release_message("PO-A2", 5)
        other["order"]["components"] = []
        ok(client.post("/api/v1/erp/orders", json=other, headers=erp))
        ok(
            client.post(
                "/api/v1/erp/orders", json=order_message("order.cancel", "PO-A2"), headers=erp
            )
        )
        # the station: operators, reports, completion
        for code in ("EMP:E1", f"WO:{wo}/0010", "CMD:START", "QTY:3"):
            ok(scan(client, station, "ws-10", code))
        event = ok(scan(client, station, "ws-10", "QTY:2"))["production_event"]
        ok(
            client.post(
                "/api/v1/corrections",
                json={"production_event": event, "reason": "counted twice"},
                headers=sup,
            ),
            201,
        )
        ok(scan(client, station, "ws-10", "CMD:COMPLETE"))
        ok(scan(client, station, "ws-10", "EMP:E1"))  # log out
        # the supervisor board
        ok(
            client.post(
                f"/api/v1/work-orders/{wo}/suspend", json={"reason": "urgent first"}, headers=sup
            )
        )
        ok(client.post(f"/api/v1/work-orders/{wo}/resume", headers=sup))
        # quality
        hold = ok(
            client.post(
                "/api/v1/holds",
                json={"target": {"kind": "work_order", "id": wo}, "reason": "burr"},
                headers=qa,
            ),
            201,
        )
        ok(
            client.post(
                f"/api/v1/holds/{hold['hold_id']}/release",
                json={"disposition": "use_as_is"},
                headers=qa,
            )
        )
        plan = {"characteristics": [{"kind": "attribute", "name": "no_burr"}]}
        ok(client.put("/api/v1/inspection-plans/RT-BRKT-200/0010", json=plan, headers=qa))
        ok(
            client.post(
                f"/api/v1/work-orders/{wo}/abort", json={"reason": "die broken"}, headers=sup
            )
        )
        # the ERP's ack (MQTT form), and a logout
        with Session(engine) as s:
            apply_ack(s, '{"message_id": "nothing-to-close"}')
            s.commit()
        ok(client.post("/api/v1/auth/logout", headers=sup), 204)
        sup = login(client, "sup1", "sup-password-1")

        with Session(engine) as s:
            rows = s.exec(select(AuditEntry)).all()
        actions = {r.action for r in rows}
        assert {
            "auth.login",
            "auth.logout",
            "user.add",
            "operator.add",
            "operator.deactivate",
            "station.enrol",
            "token.create",
            "order.release",
            "order.replace",
            "order.change",
            "order.cancel",
            "operator.login",
            "operator.logout",
            "quantity.good",
            "event.correct",
            "operation.complete",
            "work_order.suspend",
            "work_order.resume",
            "work_order.abort",
            "hold.place",
            "hold.release",
            "inspection.plan",
        } <= actions
        bad = sorted({r.actor for r in rows if not ACTOR.match(r.actor)})
        assert bad == []
        by_action = {r.action: r.actor for r in rows}
        assert by_action["hold.place"] == by_action["hold.release"] == "user:qa1"
        assert by_action["work_order.suspend"] == by_action["event.correct"] == "user:sup1"
        assert by_action["order.release"] == "service:erp"
        assert by_action["operator.login"] == "station:ws-10"

        # the audit API: role-gated
        url = "/api/v1/audit"
        assert client.get(url).status_code == 401
        assert client.get(url, headers=bearer(station)).status_code == 403
        assert client.get(url, headers=erp).status_code == 403
        for who in (sup, qa, admin):
            assert client.get(url, headers=who).status_code == 200
        # by actor, target, action (or prefix), time
        page = ok(client.get(url, params={"actor": "user:qa1"}, headers=sup))
        assert {e["action"] for e in page["entries"]} == {
            "auth.login",
            "hold.place",
            "hold.release",
            "inspection.plan",
        }
        page = ok(client.get(url, params={"target": wo}, headers=sup))
        assert {"order.release", "work_order.suspend", "work_order.abort"} <= {
            e["action"] for e in page["entries"]
        }
        page = ok(client.get(url, params={"action": "work_order."}, headers=qa))
        assert [e["action"] for e in page["entries"]] == [
            "work_order.abort",
            "work_order.resume",
            "work_order.suspend",
        ]
        assert page["entries"][-1]["detail"] == {"reason": "urgent first"}
        assert ok(client.get(url, params={"action": "work_order"}, headers=qa))["entries"] == []
        future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        assert ok(client.get(url, params={"since": future}, headers=sup))["entries"] == []
        everything = ok(
            client.get(
                url,
                params={"since": started.isoformat(), "until": future, "limit": 1000},
                headers=sup,
            )
        )
        assert len(everything["entries"]) == len(rows)
        # paginated, newest first, no entry twice or lost
        seen: list[int] = []
        before = None
        while True:
            params: dict[str, Any] = {"limit": 7, **({"before": before} if before else {})}
            page = ok(client.get(url, params=params, headers=sup))
            seen += [e["id"] for e in page["entries"]]
            before = page["next_before"]
            if before is None:
                break
        assert seen == sorted({r.id for r in rows}, reverse=True)
        assert client.get(url, params={"since": "yesterday"}, headers=sup).status_code == 422


@pytest.mark.parametrize("actor", ["qa1", "erp", "system", "user:", "robot:x", "E1042"])
def test_a_bare_or_unknown_actor_is_refused_at_the_source(tmp_path: Path, actor: str) -> None:
    from tests.quality.db import database

    engine = database(f"sqlite:///{tmp_path}/mes.db")
    with Session(engine) as s, pytest.raises(ValueError, match="kind"):
        audit.record(s, actor, "hold.place", "H-1")


def test_one_function_spells_every_caller() -> None:
    from mes.auth.roles import Principal, Role

    assert Principal("user", "sup1", Role.SUPERVISOR).label == "user:sup1"
    assert audit.actor_of(Principal("station", "ws-10", Role.STATION, "ws-10")) == "station:ws-10"
    assert audit.actor("operator", "E1042") == "operator:E1042"
    assert audit.ERP == "system:erp"
