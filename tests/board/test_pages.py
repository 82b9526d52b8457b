"""The board and owner pages as served: public shells under the strict CSP, the plant's default
language, the vendored ECharts matching its manifest, and nothing from another origin."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mes.ui import vendor_refresh
from tests.board.support import plant
from tests.mes.scan_harness import running_app
from tests.services.mosquitto import Mosquitto

STATIC = Path(__file__).resolve().parents[2] / "mes" / "ui" / "static"


@pytest.fixture
def client(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[TestClient]:
    cfg = plant(f"sqlite:///{tmp_path}/mes.db", mosquitto.url, language="zh-CN")
    with running_app(cfg) as (client, _):
        yield client


def test_pages_are_served_with_the_plant_language_and_strict_headers(client: TestClient) -> None:
    for path, script in (("/board", "board.js"), ("/owner", "owner.js")):
        r = client.get(path)
        assert r.status_code == 200
        assert f'<script type="module" src="/static/js/{script}">' in r.text
        assert '<meta name="plant-language" content="zh-CN">' in r.text
        csp = r.headers["content-security-policy"]
        assert "script-src 'self';" in csp
        assert "frame-ancestors 'none'" in csp
        assert r.headers["x-frame-options"] == "DENY"
        assert "<style" not in r.text
        assert " style=" not in r.text
    echarts = client.get("/static/vendor/echarts.min.js")
    assert echarts.status_code == 200
    assert echarts.headers["content-type"].startswith("text/javascript")
    again = client.get(
        "/static/vendor/echarts.min.js", headers={"If-None-Match": echarts.headers["etag"]}
    )
    assert again.status_code == 304  # fetched once, then revalidated without the body
    assert again.content == b""
    assert client.get("/static/vendor/manifest.json").json()["packages"][0]["name"] == "echarts"
    # the data never comes without a token
    for path in ("/api/v1/board", "/api/v1/board/stream"):
        assert client.get(path).status_code == 401


def test_the_vendored_files_match_their_manifest() -> None:
    assert vendor_refresh.problems() == []
    [echarts] = vendor_refresh.PINNED
    assert re.fullmatch(r"\d+\.\d+\.\d+", echarts.version)  # pinned, not a range


def test_a_changed_vendored_file_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "vendor"
    copy.mkdir()
    for f in vendor_refresh.VENDOR.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    (copy / "echarts.min.js").write_bytes(b"/* tampered */")
    monkeypatch.setattr(vendor_refresh, "VENDOR", copy)
    monkeypatch.setattr(vendor_refresh, "MANIFEST", copy / "manifest.json")
    assert vendor_refresh.problems() == ["echarts.min.js: SHA-256 differs from the manifest"]


def test_no_page_loads_anything_from_another_origin() -> None:
    for f in [*STATIC.glob("*.html"), *STATIC.glob("*.css"), *(STATIC / "js").glob("*.js")]:
        text = f.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=\"(https?:)?//", text), f.name
        assert 'import("http' not in text, f.name
