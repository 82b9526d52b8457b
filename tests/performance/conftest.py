"""Fixtures of the performance tests."""

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.performance.adapters import mes_db
from tests.quality.db import database


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    """A real MES database with every table: SQLite, then PostgreSQL."""
    if request.param == "postgres":
        return database(request.getfixturevalue("postgres_url"))
    return mes_db(tmp_path)
