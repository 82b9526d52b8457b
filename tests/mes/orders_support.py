"""Fixtures and helpers shared by the order/production/outbox tests (imported, not a conftest)."""

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from config.loader import parse_plant
from config.plant import PlantConfig
from mes.core.db import make_engine
from mes.masterdata.sync import sync_master_data
from mes.migrations.run import upgrade_head
from mes.orders.intake import IntakeResult, apply_erp_message
from mes.outbox.models import OutboxMessage
from tests.services.postgres import Postgres

PLANT_YAML = Path(__file__).resolve().parents[2] / "config" / "plant.yaml"


def plant_config(**mes: Any) -> PlantConfig:
    """The demo plant file without its devices (the MES does not use them)."""
    data = yaml.safe_load(PLANT_YAML.read_text(encoding="utf-8"))
    data.pop("devices", None)
    data.get("performance", {}).pop("work_units", None)  # they name devices
    data.pop("alarms", None)  # alarm definitions refer to the devices
    cfg = parse_plant(data, str(PLANT_YAML), environ={})
    if mes:
        cfg = cfg.model_copy(update={"mes": cfg.mes.model_copy(update=mes)})
    return cfg


@pytest.fixture
def plant() -> PlantConfig:
    return plant_config()


@pytest.fixture(scope="session")
def pg_template(postgres: Postgres) -> Iterator[str]:
    """A PostgreSQL database migrated to head with the demo master data, copied per test."""
    url = postgres.create_database()
    migrated_engine(url, plant_config()).dispose()
    yield url.rsplit("/", 1)[1]
    postgres.drop_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite, then PostgreSQL (a copy of the migrated template: fast)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mes.core.db'}"
        return
    postgres: Postgres = request.getfixturevalue("postgres")
    template = request.getfixturevalue("pg_template")
    name = f"shopfloor_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres.admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:{postgres.port}/{name}"
    yield url
    postgres.drop_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mes.core.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mes.core.db'}"


def migrated_engine(url: str, cfg: PlantConfig) -> Engine:
    engine = make_engine(url)
    upgrade_head(engine)
    with Session(engine) as s:
        sync_master_data(s, cfg)
        s.commit()
    return engine


@pytest.fixture
def engine(db_url: str, plant: PlantConfig) -> Iterator[Engine]:
    engine = migrated_engine(db_url, plant)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str, plant: PlantConfig) -> Iterator[Engine]:
    engine = migrated_engine(sqlite_url, plant)
    yield engine
    engine.dispose()


def release_message(erp_id: str = "PO-1001", quantity: int = 100, **order: Any) -> dict[str, Any]:
    body = {
        "erp_id": erp_id,
        "product": "BRKT-200",
        "quantity": quantity,
        "unit": "pcs",
        "due_at": "2026-12-01T16:00:00Z",
        "priority": 2,
        "routing": "RT-BRKT-200",
        "components": [{"product": "STEEL-2MM", "quantity_per_unit": 0.3, "unit": "kg"}],
    }
    body.update(order)
    return {"v": 1, "message_id": uuid.uuid4().hex, "type": "order.release", "order": body}


def order_message(kind: str, erp_id: str, **order: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "message_id": uuid.uuid4().hex,
        "type": kind,
        "order": {"erp_id": erp_id, **order},
    }


def intake(engine: Engine, message: dict[str, Any] | str | bytes) -> IntakeResult:
    raw = message if isinstance(message, str | bytes) else json.dumps(message)
    with Session(engine) as s:
        result = apply_erp_message(s, raw)
        s.commit()
    return result


def release(engine: Engine, erp_id: str = "PO-1001", quantity: int = 100) -> str:
    result = intake(engine, release_message(erp_id, quantity))
    assert result.outcome == "applied", result
    assert result.work_order is not None
    return result.work_order


def outbox(engine: Engine, kind: str | None = None) -> list[dict[str, Any]]:
    with Session(engine) as s:
        q = select(OutboxMessage).order_by(OutboxMessage.id)  # type: ignore[arg-type]
        rows = s.exec(q).all()
    return [json.loads(r.payload) for r in rows if kind is None or r.kind == kind]


def unique_site(cfg: PlantConfig) -> PlantConfig:
    """The same plant under a site name of its own: its MQTT topics reach no other test (the
    session broker keeps persistent sessions of earlier tests' MES runtimes)."""
    site = f"t{uuid.uuid4().hex[:10]}"
    return cfg.model_copy(update={"plant": cfg.plant.model_copy(update={"site": site})})


def plant_file(tmp_path: Path, site: str | None = None) -> Path:
    """The demo plant file without devices, under a site of its own (for CLI subprocesses)."""
    data = yaml.safe_load(PLANT_YAML.read_text(encoding="utf-8"))
    data.pop("devices", None)
    data.get("performance", {}).pop("work_units", None)  # they name devices
    data.pop("alarms", None)  # alarm definitions refer to the devices
    data["plant"]["site"] = site or f"t{uuid.uuid4().hex[:10]}"
    path = tmp_path / "plant.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path
