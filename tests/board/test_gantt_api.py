"""The board's Gantt and the plan changes a supervisor makes from it, over a real uvicorn on
SQLite and PostgreSQL: the plan by workstation (the display token reads it), a lock where a bar
was dropped (audited, the new plan keeps it, the board's stream names the new plan), the
refused drops (a running operation, a workstation that cannot run it, the past, the roles),
reprioritising a work order (audited, replanned; a closed order and an out-of-range priority
refused as problem+json), and an order the plan cannot plan (listed with its reason's key, the
rest planned)."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, select

from mes.core.audit import AuditEntry
from tests.board.support import (
    Plant,
    second_press,
    served_plant,
    short_of_steel,
)
from tests.services.mosquitto import Mosquitto
from tests.services.ports import wait_for


@pytest.fixture(params=["sqlite", "postgresql"])
def mes(request: pytest.FixtureRequest, tmp_path: Path, mosquitto: Mosquitto) -> Iterator[Plant]:
    with served_plant(request, tmp_path, mosquitto.url, second_press) as p:
        yield p


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def gantt(mes: Plant, token: str) -> dict[str, Any]:
    r = httpx.get(f"{mes.base}/api/v1/schedule/gantt", headers=bearer(token))
    assert r.status_code == 200, r.text
    return dict(r.json())


def wait_gantt(mes: Plant, ok: Any, what: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    def check() -> bool:
        g = gantt(mes, mes.display_token)
        if g["plan"] is not None and ok(g):
            found.append(g)
            return True
        return False

    wait_for(check, 60, what)
    return found[-1]


def bar(g: dict[str, Any], wo: str, op: str) -> dict[str, Any]:
    return next(b for b in g["bars"] if (b["work_order"], b["operation"]) == (wo, op))


def overlaps(g: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The planned bars inside a closed or breakdown window of their workstation."""
    out = []
    for b in g["bars"]:
        start, end = datetime.fromisoformat(b["setup_start"]), datetime.fromisoformat(b["end"])
        for w in g["windows"]:
            if w["workstation"] == b["workstation"] and b["pin"] != "running":
                lo, hi = datetime.fromisoformat(w["start"]), datetime.fromisoformat(w["end"])
                if lo < end and start < hi:
                    out.append((b["work_order"], b["operation"], w["kind"]))
    return out


def planned(mes: Plant) -> dict[str, Any]:
    """The first plan with the three open orders (the held one is not planned) made from the
    seeded floor: a plan made before the oven's fault was seeded may still use the oven."""
    wanted = {mes.orders[e] for e in ("PO-ONTIME", "PO-RISK", "PO-LATE")}
    return wait_gantt(
        mes,
        lambda g: {b["work_order"] for b in g["bars"]} == wanted and not overlaps(g),
        "a plan of the open orders around the closed time and the breakdown",
    )


def open_start(g: dict[str, Any], station: str, length: timedelta) -> datetime:
    """A whole quarter hour from an hour on, when `station` is open for `length`."""
    closed = [
        (datetime.fromisoformat(w["start"]), datetime.fromisoformat(w["end"]))
        for w in g["windows"]
        if w["workstation"] == station
    ]
    now = datetime.fromisoformat(g["now"])
    at = (now + timedelta(hours=1)).replace(second=0, microsecond=0)
    at += timedelta(minutes=-at.minute % 15)  # up to the next quarter hour, an hour on at least
    while any(a < at + length and at < b for a, b in closed):
        at += timedelta(minutes=15)
    return at


def audit(mes: Plant, action: str) -> list[AuditEntry]:
    with Session(mes.engine) as s:
        return list(
            s.exec(
                select(AuditEntry)
                .where(col(AuditEntry.action) == action)
                .order_by(col(AuditEntry.id))
            ).all()
        )


def test_the_gantt_is_the_plan_by_workstation(mes: Plant) -> None:
    assert httpx.get(f"{mes.base}/api/v1/schedule/gantt").status_code == 401
    g = planned(mes)
    assert [w["id"] for w in g["workstations"]] == ["ws-10", "ws-11", "ws-20"]
    # the work centres with their names from the plant file
    assert {w["id"]: w["work_centre_names"]["zh-CN"] for w in g["workstations"]} == {
        "ws-10": "冲压工作中心",
        "ws-11": "冲压工作中心",
        "ws-20": "固化工作中心",
    }
    # the workstations' own names: a missing Chinese name is the English one
    assert {w["id"]: w["names"] for w in g["workstations"]} == {
        "ws-10": {"en": "Press 1", "zh-CN": "1号冲压机"},
        "ws-11": {"en": "Press 2", "zh-CN": "Press 2"},
        "ws-20": {"en": "Curing oven", "zh-CN": "固化炉"},
    }
    ontime, late = mes.orders["PO-ONTIME"], mes.orders["PO-LATE"]
    running = bar(g, ontime, "0010")
    assert (running["workstation"], running["pin"], running["late"]) == ("ws-10", "running", False)
    assert running["eligible"] == ["ws-10", "ws-11"]
    assert (running["name"], running["name_zh_cn"]) == ("Stamp", "冲压")
    assert (bar(g, late, "0010")["late"], bar(g, late, "0020")["late"]) == (True, True)
    assert bar(g, late, "0020")["eligible"] == ["ws-20"]
    assert not bar(g, ontime, "0020")["late"]
    # the oven's open fault is a breakdown until the planner's expected return; the presses'
    # calendar has breaks (closed time) within the span
    kinds = {(w["workstation"], w["kind"]) for w in g["windows"]}
    assert ("ws-20", "breakdown") in kinds
    assert ("ws-10", "closed") in kinds
    assert overlaps(g) == []  # no operation planned into closed time or the breakdown
    # the board names the plan the Gantt draws (its stream follows it)
    board = httpx.get(f"{mes.base}/api/v1/board", headers=bearer(mes.display_token)).json()
    assert board["plan"]["id"] >= g["plan"]["id"]


def test_an_order_the_plan_cannot_plan_is_listed_with_its_reason(mes: Plant) -> None:
    g = planned(mes)
    assert g["errors"] == []
    short = short_of_steel(mes)
    g = wait_gantt(
        mes,
        lambda x: any(e["work_order"] == short for e in x["errors"]),
        "a plan that cannot plan the order short of steel",
    )
    # the orders due earlier take their steel first (150 + 6 kg of the 200)
    assert g["errors"] == [
        {
            "work_order": short,
            "operation": "0010",
            "reason": "material 'STEEL-2MM' never arrives in the quantity needed (3000 needed,"
            " 44 left of stock and expected receipts)",
            "reason_key": "plan.error.material_short",
            "reason_params": {
                "order": short,
                "operation": "0010",
                "material": "STEEL-2MM",
                "needed": 3000,
                "left": 44,
            },
        }
    ]
    # it has no bars; the rest of the plant is planned as before
    assert {b["work_order"] for b in g["bars"]} == {
        mes.orders[e] for e in ("PO-ONTIME", "PO-RISK", "PO-LATE")
    }
    assert len(g["bars"]) == 6
    assert overlaps(g) == []


def test_a_drop_locks_the_slot_and_the_new_plan_keeps_it(mes: Plant) -> None:
    g = planned(mes)
    sup = bearer(mes.token("sup1"))
    risk = mes.orders["PO-RISK"]
    moved = bar(g, risk, "0010")
    length = datetime.fromisoformat(moved["end"]) - datetime.fromisoformat(moved["setup_start"])
    at = open_start(g, "ws-11", length + timedelta(minutes=30))
    lock = {"work_order": risk, "operation": "0010", "workstation": "ws-11"}

    with httpx.stream(
        "GET", f"{mes.base}/api/v1/board/stream", headers=bearer(mes.display_token), timeout=60
    ) as stream:
        lines = stream.iter_lines()
        first = next(line for line in lines if line.startswith("data:"))
        before = json.loads(first[5:])["plan"]["id"]
        r = httpx.post(
            f"{mes.base}/api/v1/schedule/lock", json={**lock, "start": at.isoformat()}, headers=sup
        )
        assert r.status_code == 200, r.text
        assert r.json()["locked_by"] == "user:sup1"
        # the board's stream names the new plan (the Gantt reloads on it)
        for line in lines:
            if (
                line.startswith("data:")
                and json.loads(line[5:]).get("plan", {}).get("id", 0) > before
            ):
                break

    kept = wait_gantt(
        mes, lambda x: bar(x, risk, "0010")["pin"] == "locked", "the plan with the lock"
    )
    slot = bar(kept, risk, "0010")
    assert slot["workstation"] == "ws-11"
    assert datetime.fromisoformat(slot["setup_start"]) == at
    assert slot["locked_by"] == "user:sup1"
    follows = bar(kept, risk, "0020")  # the cure waits for the stamping where it now is
    assert datetime.fromisoformat(follows["setup_start"]) >= datetime.fromisoformat(slot["end"])
    entries = audit(mes, "schedule.lock")
    assert [(e.actor, e.target) for e in entries] == [("user:sup1", f"{risk}/0010")]
    assert json.loads(entries[0].detail_json)["workstation"] == "ws-11"


def _refused(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code


def test_refused_drops_say_why(mes: Plant) -> None:
    planned(mes)
    sup = bearer(mes.token("sup1"))
    url = f"{mes.base}/api/v1/schedule/lock"
    later = (datetime.now(UTC) + timedelta(hours=3)).replace(second=0, microsecond=0)
    risk, ontime = mes.orders["PO-RISK"], mes.orders["PO-ONTIME"]
    body = {"work_order": risk, "operation": "0010", "start": later.isoformat()}
    r = httpx.post(url, json={**body, "work_order": ontime}, headers=sup)  # it runs on ws-10
    _refused(r, 409, "OPERATION_STARTED")
    assert "running on ws-10" in r.json()["detail"]
    r = httpx.post(url, json={**body, "operation": "0020", "workstation": "ws-10"}, headers=sup)
    _refused(r, 422, "NOT_ELIGIBLE")
    assert "ws-20" in r.json()["detail"]  # where it may go
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    _refused(httpx.post(url, json={**body, "start": past}, headers=sup), 422, "START_IN_THE_PAST")
    r = httpx.post(url, json={**body, "workstation": "ws-99"}, headers=sup)
    _refused(r, 404, "UNKNOWN_STATION")
    for token in (mes.display_token, mes.token("boss"), mes.token("qa1")):
        _refused(httpx.post(url, json=body, headers=bearer(token)), 403, "FORBIDDEN")
    _refused(httpx.post(url, json=body), 401, "UNAUTHENTICATED")
    assert audit(mes, "schedule.lock") == []


def test_a_supervisor_reprioritises_a_work_order(mes: Plant) -> None:
    first = planned(mes)
    sup = bearer(mes.token("sup1"))
    late = mes.orders["PO-LATE"]
    url = f"{mes.base}/api/v1/work-orders/{late}/priority"
    body = {"priority": 7, "reason": "customer line down"}
    for token in (mes.display_token, mes.token("boss"), mes.token("qa1")):
        _refused(httpx.post(url, json=body, headers=bearer(token)), 403, "FORBIDDEN")
    _refused(httpx.post(url, json=body), 401, "UNAUTHENTICATED")
    for wrong in ({**body, "priority": 1001}, {**body, "priority": -1}, {**body, "reason": ""}):
        _refused(httpx.post(url, json=wrong, headers=sup), 422, "INVALID_REQUEST")
    r = httpx.post(url, json=body, headers=sup)
    assert r.status_code == 200, r.text
    assert r.json() == {"number": late, "status": "RELEASED", "priority": 7, "previous": 2}
    entries = audit(mes, "work_order.reprioritise")
    assert [(e.actor, e.target) for e in entries] == [("user:sup1", late)]
    assert json.loads(entries[0].detail_json) == {
        "from": 2,
        "to": 7,
        "reason": "customer line down",
    }

    # a replan follows at once, and the board shows the priority
    def replanned() -> bool:
        r = httpx.get(f"{mes.base}/api/v1/schedule/history", headers=sup)
        return any(
            p["id"] > first["plan"]["id"] and p["trigger"] == f"priority of {late} by user:sup1"
            for p in r.json()
        )

    wait_for(replanned, 60, "the replan the new priority started")
    assert bar(gantt(mes, mes.display_token), late, "0010")["priority"] == 7
    board = httpx.get(f"{mes.base}/api/v1/board", headers=sup).json()
    assert next(o for o in board["orders"] if o["work_order"] == late)["priority"] == 7
    unknown = f"{mes.base}/api/v1/work-orders/WO-999999/priority"
    _refused(httpx.post(unknown, json=body, headers=sup), 404, "WORK_ORDER_NOT_FOUND")
    # a closed order keeps its priority
    ontime = mes.orders["PO-ONTIME"]
    r = httpx.post(
        f"{mes.base}/api/v1/work-orders/{ontime}/abort", json={"reason": "die broken"}, headers=sup
    )
    assert r.status_code == 200, r.text
    r = httpx.post(f"{mes.base}/api/v1/work-orders/{ontime}/priority", json=body, headers=sup)
    _refused(r, 409, "ILLEGAL_STATE")
    assert len(audit(mes, "work_order.reprioritise")) == 1
