"""The workstation page is served with its script (the script itself is plain JS, no build)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.mes.scan_harness import plant_config, running_app
from tests.services.mosquitto import Mosquitto


@pytest.fixture
def client(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[TestClient]:
    security = {"docs": "open", "openapi": "open", "metrics": "open"}  # as the demo
    cfg = plant_config(f"sqlite:///{tmp_path}/mes.db", mosquitto.url, security=security)
    with running_app(cfg) as (client, _):
        yield client


def test_station_page_served(client: TestClient) -> None:
    for path in ("/", "/station/ws-10"):
        r = client.get(path)
        assert r.status_code == 200
        assert '<script type="module" src="/static/js/app.js">' in r.text
        assert "script-src 'self';" in r.headers["content-security-policy"]
        assert "<style" not in r.text  # strict CSP: no inline style or script
    js = client.get("/static/js/app.js")
    assert js.status_code == 200
    assert js.headers["content-type"].startswith("text/javascript")
    assert "/api/v1/scans" in js.text
    assert client.get("/sw.js").status_code == 200
    assert client.get("/i18n/zh-CN.json").json()["btn.start"] == "开始"
    for bad in (
        "/static/../routes.py",
        "/static/js/missing.js",
        "/static/station.py",
        "/i18n/fr.json",
    ):
        assert client.get(bad).status_code == 404, bad


def test_api_docs_need_no_internet(client: TestClient) -> None:
    """Swagger UI and ReDoc come from the MES itself: a plant network has no CDN."""
    for page in ("/docs", "/redoc"):
        html = client.get(page)
        assert html.status_code == 200
        assert "https://" not in html.text
    html = client.get("/docs").text
    urls = {a: html.split(a, 1)[0].rsplit('"', 1)[1] + a for a in ("-bundle.js", "-ui.css")}
    assets = {a: client.get(url) for a, url in urls.items()}
    assert all(url.startswith("/") for url in urls.values())
    assert all(r.status_code == 200 for r in assets.values())
    assert "SwaggerUIBundle" in assets["-bundle.js"].text
    assert len(assets["-ui.css"].content) > 10_000
