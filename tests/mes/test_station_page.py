"""The workstation page is served with its script (the script itself is plain JS, no build)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.mes.scan_harness import plant_config, running_app
from tests.services.mosquitto import Mosquitto


@pytest.fixture
def client(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[TestClient]:
    with running_app(plant_config(f"sqlite:///{tmp_path}/mes.db", mosquitto.url)) as (client, _):
        yield client


def test_station_page_served(client: TestClient) -> None:
    for path in ("/", "/station/ws-10"):
        r = client.get(path)
        assert r.status_code == 200
        assert 'id="scan"' in r.text
        assert "/static/station.js" in r.text
    js = client.get("/static/station.js")
    assert js.status_code == 200
    assert "/api/v1/scans" in js.text
    assert "localStorage" in js.text
