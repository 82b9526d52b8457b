"""A small plant for the planning tests: two stamping stations (ws-11 an alternative at half
speed), two presses in work centre PRESS, one tracked material, setup families."""

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from config.plant import PlantConfig
from mes.orders.stock import StockResult, apply_stock_message
from mes.performance.models import DowntimeEvent
from tests.mes.scan_harness import PLANT

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def planning_plant(
    db_url: str, broker_url: str = "mqtt://127.0.0.1:1", **planning: Any
) -> PlantConfig:
    raw = copy.deepcopy(PLANT)
    raw["database"] = {"url": db_url}
    raw["broker"] = {"url": broker_url}
    raw["workstations"] = [
        {"id": "ws-10", "path": "stamping/line1/c1", "work_centre": "STAMP"},
        {"id": "ws-11", "path": "stamping/line1/c1", "work_centre": "STAMP2"},
        {"id": "ws-20", "path": "stamping/line1/c1", "work_centre": "PRESS", "speed": 2.0},
        {"id": "ws-21", "path": "stamping/line1/c1", "work_centre": "PRESS"},
    ]
    raw["products"] = [
        {"code": "BRKT-200", "family": "BRKT"},
        {"code": "STEEL-2MM", "unit": "kg"},
    ]
    raw["routings"] = [
        {
            "id": "RT-BRKT-200",
            "product": "BRKT-200",
            "operations": [
                {
                    "number": "0010",
                    "name": "Stamp",
                    "workstation": "ws-10",
                    "cycle_time_s": 2,
                    "transfer_s": 300,
                    "alternatives": [{"workstation": "ws-11", "speed": 0.5}],
                },
                {
                    "number": "0020",
                    "name": "Bend",
                    "work_centre": "PRESS",
                    "cycle_time_s": 3,
                    "components": [
                        {"product": "STEEL-2MM", "quantity_per_unit": 0.3, "unit": "kg"}
                    ],
                },
            ],
        }
    ]
    raw["planning"] = {
        "time_limit_s": 4,
        "workers": 1,
        "debounce_s": 0,
        "frozen_horizon_s": 0,
        "poll_s": 0.2,
        **planning,
    }
    return PlantConfig.model_validate(raw)


def stock_message(
    on_hand: float,
    *receipts: tuple[datetime, float],
    at: datetime = NOW,
    message_id: str | None = None,
) -> str:
    return json.dumps(
        {
            "v": 1,
            "message_id": message_id or f"stock-{on_hand}-{len(receipts)}-{at.isoformat()}",
            "type": "stock.snapshot",
            "at": at.isoformat(),
            "materials": [
                {
                    "material": "STEEL-2MM",
                    "unit": "kg",
                    "on_hand": on_hand,
                    "receipts": [{"at": t.isoformat(), "quantity": q} for t, q in receipts],
                }
            ],
        }
    )


def put_stock(engine: Engine, raw: str) -> StockResult:
    with Session(engine) as s:
        result = apply_stock_message(s, raw)
        s.commit()
    return result


def break_down(engine: Engine, station: str, since: datetime) -> None:
    with Session(engine) as s:
        s.add(DowntimeEvent(work_unit=station, start=since, state="fault"))
        s.commit()


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
