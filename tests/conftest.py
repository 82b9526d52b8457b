"""Session-wide real services. Tests that kill a service start their own via the factories."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from tests.services.mosquitto import Mosquitto
from tests.services.postgres import Postgres
from tests.services.victoria import Victoria

S = TypeVar("S")


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto")).start()
    yield broker
    broker.stop()


def _private(kind: Callable[..., S], workdir: Path) -> Iterator[Callable[..., S]]:
    """Start-on-demand instances of a service for one test, stopped afterwards."""
    started: list[S] = []

    def make(**kwargs: object) -> S:
        service = kind(
            workdir / f"{getattr(kind, '__name__', 'svc').lower()}-{len(started)}", **kwargs
        )
        started.append(service)
        return service

    yield make
    for service in started:
        service.stop()  # type: ignore[attr-defined]


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[Callable[..., Mosquitto]]:
    """Private brokers for tests that kill or restart one."""
    yield from _private(Mosquitto, tmp_path)


@pytest.fixture(scope="session")
def victoria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Victoria]:
    store = Victoria(tmp_path_factory.mktemp("victoria")).start()
    yield store
    store.stop()


@pytest.fixture
def victoria_factory(tmp_path: Path) -> Iterator[Callable[..., Victoria]]:
    """Private time-series servers for tests that stop or restart one."""
    yield from _private(Victoria, tmp_path)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    server = Postgres(tmp_path_factory.mktemp("postgres"))
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres: Postgres) -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)


@pytest.fixture
def plant_yaml() -> Path:
    return Path(__file__).resolve().parent.parent / "config" / "plant.yaml"
