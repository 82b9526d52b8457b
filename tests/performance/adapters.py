"""Shared pieces of the adapter tests: the plant file's work units and a real SQLite MES."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import yaml
from sqlalchemy.engine import Engine
from sqlmodel import Session

import mes.performance.models  # noqa: F401  (registers the tables)
from config.loader import parse_plant
from config.plant import Broker, PlantConfig
from mes.performance.consumer import StateConsumer
from mes.performance.ingest import StateBatch
from mes.performance.units import work_units
from tests.quality.db import database
from uns.topics import Namespace

NS = Namespace("acme", "plant1")
PRESS = f"{NS.root}/stamping/line1/cell1/press-01/_telemetry"
T0 = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
PLANT = Path(__file__).resolve().parents[2] / "config" / "plant.yaml"


def plant() -> PlantConfig:
    return parse_plant(yaml.safe_load(PLANT.read_text()), "t", environ={})


def mes_db(tmp_path: Path) -> Engine:
    return database(f"sqlite:///{tmp_path}/mes.db")


def consumer(engine: Engine, cfg: PlantConfig | None = None) -> StateConsumer:
    return StateConsumer(engine, Broker(), NS, work_units(cfg or plant()), client_id="t")


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def press(at: datetime, state: int, fault: bool = False, quality: str = "good") -> bytes:
    """A press telemetry batch at `at` with the state register and the fault coil."""
    values = [
        {"tag": "state", "value": state, "quality": quality, "ts": ms(at)},
        {"tag": "fault", "value": fault, "quality": "good", "ts": ms(at)},
    ]
    return orjson.dumps(
        {"v": 1, "agent": "edge-1", "device": "press-01", "ts": ms(at), "values": values}
    )


def s(n: float) -> timedelta:
    return timedelta(seconds=n)


def feed_press(engine: Engine, cons: StateConsumer, *states: tuple[datetime, int]) -> None:
    """Press telemetry (time, state register; 2 sets the fault coil) in one transaction."""
    with Session(engine) as session:
        batch = StateBatch(session, cons.units)
        for when, state in states:
            cons.handle(batch, PRESS, press(when, state, fault=state == 2))
        batch.finish()
        session.commit()
