"""Session-wide real services. Tests that kill a service start their own via the factories."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.services.mosquitto import Mosquitto
from tests.services.postgres import Postgres
from tests.services.victoria import Victoria


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto")).start()
    yield broker
    broker.stop()


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[Callable[..., Mosquitto]]:
    """Private brokers for tests that kill or restart one."""
    started: list[Mosquitto] = []

    def make(**kwargs: object) -> Mosquitto:
        broker = Mosquitto(tmp_path / f"mosquitto-{len(started)}", **kwargs)  # type: ignore[arg-type]
        started.append(broker)
        return broker

    yield make
    for b in started:
        b.stop()


@pytest.fixture(scope="session")
def victoria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Victoria]:
    store = Victoria(tmp_path_factory.mktemp("victoria")).start()
    yield store
    store.stop()


@pytest.fixture
def victoria_factory(tmp_path: Path) -> Iterator[Callable[..., Victoria]]:
    started: list[Victoria] = []

    def make(**kwargs: object) -> Victoria:
        store = Victoria(tmp_path / f"victoria-{len(started)}", **kwargs)  # type: ignore[arg-type]
        started.append(store)
        return store

    yield make
    for s in started:
        s.stop()


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
