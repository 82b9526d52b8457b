"""A seeded plant for the board and owner pages: the demo plant file, known orders, due dates,
progress, a stop without a reason, an alarm and a hold; served by a real uvicorn."""

import json
import os
import socket
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from config.loader import parse_plant
from config.plant import PlantConfig
from mes.alarms.models import AlarmCurrent
from mes.auth import service
from mes.orders.acks import apply_ack
from mes.orders.models import Operation, WorkOrder
from mes.orders.stock import apply_stock_message
from mes.outbox.models import OutboxMessage
from mes.performance.models import DowntimeEvent, WorkUnitCursor
from tests.mes.orders_support import intake, release_message
from tests.services.ports import wait_for

PLANT_YAML = Path(__file__).resolve().parents[2] / "config" / "plant.yaml"
ARTEFACTS = Path(os.environ.get("SHOPFLOOR_ARTEFACTS", tempfile.gettempdir())) / "board-shots"
PASSWORD = "board-secret-1"


def shot(page: Any, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def plant(
    db_url: str,
    broker_url: str,
    language: str = "en",
    edit: Callable[[dict[str, Any]], None] | None = None,
) -> PlantConfig:
    """The demo plant file on `db_url`; `edit(data)` may change the parsed file first."""
    from tests.mes.scan_harness import shift_end_away

    data = yaml.safe_load(PLANT_YAML.read_text(encoding="utf-8"))
    if edit is not None:
        edit(data)
    data["database"] = {"url": db_url}
    data["broker"] = {"url": broker_url}
    data["plant"]["site"] = f"t{uuid.uuid4().hex[:10]}"  # topics of its own
    data["mes"] = {
        **data.get("mes", {}),
        "debounce_s": 0.0,
        "bootstrap_admin_password": "admin-secret-1",
        "language": language,
        "shifts": shift_end_away(),  # Li Wei stays logged in at ws-10
    }
    return parse_plant(data, "board-test", environ={})


@dataclass
class Plant:
    base: str
    engine: Engine
    app: FastAPI
    station_token: str
    display_token: str
    orders: dict[str, str]  # erp id -> work order number

    def token(self, user: str) -> str:
        r = httpx.post(
            f"{self.base}/api/v1/auth/login", json={"username": user, "password": PASSWORD}
        )
        r.raise_for_status()
        return str(r.json()["access_token"])

    def scan(self, code: str, station: str = "ws-10") -> dict[str, Any]:
        r = httpx.post(
            f"{self.base}/api/v1/scans",
            json={"station": station, "code": code, "event_id": str(uuid.uuid4())},
            headers={"Authorization": f"Bearer {self.station_token}"},
        )
        assert r.status_code == 200, r.text
        return dict(r.json())


@contextmanager
def serve(cfg: PlantConfig, stub: Any = None) -> Iterator[tuple[str, Engine, FastAPI]]:
    """The app on uvicorn in this process; `stub(app)` may add routes before it starts."""
    import uvicorn

    from mes.api.server import StreamingServer
    from mes.app import create_app, end_streams
    from tests.mes.scan_harness import make_runtime

    runtime = make_runtime(cfg)
    app = create_app(runtime)
    if stub is not None:
        stub(app)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5)
    server = StreamingServer(config, end_streams=lambda: end_streams(app))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started or not thread.is_alive(), 30, "uvicorn to start")
    assert server.started, "uvicorn did not start (see its log above)"
    try:
        yield f"http://127.0.0.1:{port}", runtime.engine, app
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


@contextmanager
def served_plant(
    request: Any, tmp_path: Path, broker_url: str, edit: Callable[[dict[str, Any]], None]
) -> Iterator["Plant"]:
    """The seeded plant served on the database `request.param` names (sqlite, postgresql: a
    database of its own, dropped after)."""
    if request.param == "sqlite":
        url, drop = f"sqlite:///{tmp_path / 'mes.db'}", None
    else:
        postgres = request.getfixturevalue("postgres")
        url = postgres.create_database()
        drop = lambda: postgres.drop_database(url)  # noqa: E731
    try:
        with serve(plant(url, broker_url, edit=edit)) as (base, engine, app):
            yield seed(base, engine, app)
    finally:
        if drop is not None:
            drop()


def _users(engine: Engine) -> None:
    with Session(engine) as s:
        passwords = service.Passwords()
        for name, role in (("sup1", "supervisor"), ("qa1", "quality"), ("boss", "owner")):
            service.add_user(s, passwords, name, role, PASSWORD)
        s.commit()


def _admin(base: str) -> dict[str, str]:
    r = httpx.post(
        f"{base}/api/v1/auth/login", json={"username": "admin", "password": "admin-secret-1"}
    )
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def second_press(data: dict[str, Any]) -> None:
    """A plant file edit for the Gantt: a second press (ws-11) able to stamp (an alternative of
    0010), and a planning service that answers quickly and freezes nothing."""
    data["workstations"].insert(
        1,
        {"id": "ws-11", "name": "Press 2", "path": "stamping/line1/cell1", "work_centre": "PRESS"},
    )
    stamp = data["routings"][0]["operations"][0]
    stamp["alternatives"] = [{"workstation": "ws-11", "speed": 1.0}]
    data["planning"] = {
        "time_limit_s": 2,
        "workers": 1,
        "debounce_s": 0,
        "max_delay_s": 0,
        "poll_s": 0.5,
        "frozen_horizon_s": 0,
    }


def seed(base: str, engine: Engine, app: FastAPI) -> Plant:
    """Four orders: one on time and running, one at risk, one overdue, one held; ws-10 running
    with an operator, ws-20 in a fault without a reason and with an alarm."""
    _users(engine)
    admin = _admin(base)
    for badge, name in (("E1", "Li Wei"), ("E2", "Ana Silva")):
        httpx.post(f"{base}/api/v1/operators", json={"badge": badge, "name": name}, headers=admin)
    station = httpx.post(f"{base}/api/v1/stations/ws-10/enrol", headers=admin).json()
    display = httpx.post(
        f"{base}/api/v1/tokens", json={"name": "tv-hall-1", "role": "display"}, headers=admin
    )
    assert display.status_code == 201, display.text
    now = datetime.now(UTC)
    due = {
        "PO-ONTIME": (50, now + timedelta(hours=4)),
        "PO-RISK": (500, now + timedelta(minutes=10)),
        "PO-LATE": (20, now - timedelta(hours=1)),
        "PO-HELD": (30, now + timedelta(days=1)),
    }
    orders = {}
    for erp, (qty, at) in due.items():
        msg = release_message(erp, qty, due_at=at.isoformat(), components=[])
        result = intake(engine, msg)
        assert result.work_order is not None, result
        orders[erp] = result.work_order
    plant = Plant(
        base, engine, app, station["access_token"], display.json()["access_token"], orders
    )
    plant.scan("EMP:E1")
    plant.scan(f"WO:{orders['PO-ONTIME']}/0010")
    plant.scan("CMD:START")
    plant.scan("QTY:30")
    qa = {"Authorization": f"Bearer {plant.token('qa1')}"}
    r = httpx.post(
        f"{base}/api/v1/holds",
        json={
            "target": {"kind": "work_order", "id": orders["PO-HELD"]},
            "reason": "burr on edge, check die",
        },
        headers=qa,
    )
    assert r.status_code == 201, r.text
    # no edge runs here: machine states are written as the state consumer writes them, and the
    # consumer is stopped so that its clock does not turn a silent press into "unknown"
    consumer = app.state.services.performance.consumer
    if consumer is not None:
        consumer.stop()
    with Session(engine) as s:
        s.merge(
            WorkUnitCursor(
                work_unit="ws-10",
                open_start=now - timedelta(minutes=30),
                open_state="running",
                now=now,
                heard=now,
            )
        )
        s.merge(
            WorkUnitCursor(
                work_unit="ws-20",
                open_start=now - timedelta(minutes=12),
                open_state="fault",
                now=now,
                heard=now,
            )
        )
        s.add(DowntimeEvent(work_unit="ws-20", start=now - timedelta(minutes=12), state="fault"))
        s.add(
            AlarmCurrent(
                alarm="oven-01.temp.hh",
                state="active_unacked",
                condition_active=True,
                priority="high",
                area="finishing",
                path="finishing/line1/oven1",
                workstation="ws-20",
                message="oven temperature high",
                active_since=now,
                changed_at=now,
            )
        )
        s.commit()
    return plant


def finish_and_close(plant: Plant, erp: str) -> str:
    """The seeded order `erp` (running at ws-10) finished: its stamping completed at ws-10, its
    curing run whole at ws-20 (enrolled here), and the ERP's acknowledgement of its final
    confirmation applied (CLOSED), as the demo's ERP simulator does at once. Its number."""
    wo = plant.orders[erp]
    with Session(plant.engine) as s:
        quantity, stamped = s.exec(
            select(WorkOrder.quantity, Operation.good)
            .join(Operation, col(Operation.work_order_id) == col(WorkOrder.id))
            .where(WorkOrder.number == wo, Operation.number == "0010")
        ).one()
    plant.scan(f"QTY:{quantity - stamped}")
    plant.scan("CMD:COMPLETE")
    enrolled = httpx.post(f"{plant.base}/api/v1/stations/ws-20/enrol", headers=_admin(plant.base))
    ws20 = {"Authorization": f"Bearer {enrolled.json()['access_token']}"}
    for code in ("EMP:E2", f"WO:{wo}/0020", "CMD:START", f"QTY:{quantity}", "CMD:COMPLETE"):
        r = httpx.post(
            f"{plant.base}/api/v1/scans",
            json={"station": "ws-20", "code": code, "event_id": str(uuid.uuid4())},
            headers=ws20,
        )
        assert r.json()["accepted"], r.text
    with Session(plant.engine) as s:  # the ERP's acknowledgement, as `_erp/acks` brings it
        final = s.exec(select(OutboxMessage).where(col(OutboxMessage.final))).one()
        assert apply_ack(s, json.dumps({"message_id": final.message_id})) == wo
        s.commit()
    return wo


def short_of_steel(plant: Plant) -> str:
    """An order the planner cannot plan (PO-NOSTEEL, 10000 pieces): its stamping needs 3000 kg
    of steel, and the ERP says 200 kg are in stock with none to come; the other open orders
    need less than that together, so they are still planned. Its work order number."""
    result = intake(
        plant.engine, release_message("PO-NOSTEEL", 10000, due_at=_in(timedelta(days=2)))
    )
    assert result.work_order is not None, result
    plant.orders["PO-NOSTEEL"] = result.work_order
    stock = {
        "v": 1,
        "message_id": uuid.uuid4().hex,
        "type": "stock.snapshot",
        "at": _in(timedelta(0)),
        "materials": [{"material": "STEEL-2MM", "unit": "kg", "on_hand": 200, "receipts": []}],
    }
    with Session(plant.engine) as s:
        assert apply_stock_message(s, json.dumps(stock)).outcome == "applied"
        s.commit()
    return result.work_order


def _in(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()
