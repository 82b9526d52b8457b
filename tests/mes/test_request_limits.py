"""Issue 18 item 2 (bounded requests) and item 10 (security headers, docs/metrics exposure):
over real HTTP, on the TestClient and on a real uvicorn with the options of `mes serve`."""

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from config.plant import PlantConfig
from mes.api.server import server_options
from tests.mes.scan_harness import admin_token, bearer, plant_config, running_app, served
from tests.services.mosquitto import Mosquitto
from tests.services.ports import wait_for

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, mosquitto: Mosquitto) -> Iterator[TestClient]:
    db = tmp_path_factory.mktemp("limits") / "mes.db"
    security = {"max_body_bytes": 4096, "body_limits": {"/api/v1/erp/": 65536}}
    with running_app(plant_config(f"sqlite:///{db}", mosquitto.url, security=security)) as pair:
        yield pair[0]


def test_an_oversized_body_is_refused_before_parsing(client: TestClient) -> None:
    huge = json.dumps({f"k{i}": i for i in range(20_000)})  # ~300 kB, 20,000 unknown keys
    r = client.post(
        "/api/v1/auth/login", content=huge, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert "4096" in r.json()["detail"]


def test_a_body_without_length_is_counted_too(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b" " * 1000

    r = client.post(
        "/api/v1/auth/login", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413


def test_a_route_that_needs_more_gets_its_own_limit(client: TestClient) -> None:
    body = json.dumps({"erp_id": "x" * 10_000})  # over 4 KiB, under the ERP prefix's 64 KiB
    r = client.post(
        "/api/v1/erp/orders",
        content=body,
        headers={"content-type": "application/json", **bearer(admin_token(client))},
    )
    assert r.status_code == 403  # parsed and role-checked, not 413


def test_a_422_lists_at_most_20_errors_and_counts_the_rest(client: TestClient) -> None:
    body = {"username": "a", "password": "b", **{f"x{i}": i for i in range(100)}}
    r = client.post("/api/v1/auth/login", json=body)
    assert r.status_code == 422
    doc = r.json()
    assert len(doc["errors"]) == 20
    assert doc["error_count"] == 100
    assert "80 more errors" in doc["detail"]


def test_security_headers_on_pages_and_api(client: TestClient) -> None:
    page = client.get("/station/ws-10")
    assert page.status_code == 200
    api = client.get("/api/v1/auth/me")
    for r in (page, api):
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["x-content-type-options"] == "nosniff"
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert api.headers["content-security-policy"].startswith("default-src 'none'")


def test_docs_schema_and_metrics_follow_the_config(tmp_path: Path, mosquitto: Mosquitto) -> None:
    url = f"sqlite:///{tmp_path}/mes.db"
    cfg = plant_config(url, mosquitto.url)
    raw = cfg.model_dump(mode="json")
    raw["mes"]["bootstrap_admin_password"] = "admin-secret-1"
    raw["mes"]["security"] = {}  # the defaults: docs off, schema and metrics authenticated
    with running_app(PlantConfig.model_validate(raw)) as (client, _):
        assert client.get("/docs").status_code == 404
        assert client.get("/redoc").status_code == 404
        assert client.get("/openapi.json").status_code == 401
        assert client.get("/metrics").status_code == 401
        auth = bearer(admin_token(client))
        assert client.get("/openapi.json", headers=auth).json()["info"]["title"] == "shopfloor MES"
        assert client.get("/metrics", headers=auth).status_code == 200
    raw["mes"]["security"] = {"docs": "open", "openapi": "open", "metrics": "off"}
    with running_app(PlantConfig.model_validate(raw)) as (client, _):
        docs = client.get("/docs")
        assert docs.status_code == 200
        assert "swagger" in docs.text.lower()
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/metrics").status_code == 404


def _closed(conn: socket.socket) -> bytes | None:
    """What the server sent before closing; None while the connection is still open."""
    conn.settimeout(0.05)
    try:
        data = conn.recv(4096)
    except TimeoutError:
        return None
    return data if data is not None else b""


def test_slow_heads_and_slow_bodies_are_cut_off(tmp_path: Path, mosquitto: Mosquitto) -> None:
    security = {"header_timeout_s": 1.0, "body_timeout_s": 1.0, "max_header_bytes": 2048}
    cfg = plant_config(f"sqlite:///{tmp_path}/mes.db", mosquitto.url, security=security)
    with served(cfg, **server_options(cfg.mes.security)) as (base, _):
        port = int(base.rsplit(":", 1)[1])
        slow_heads = []
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finishes the head
            slow_heads.append(s)
        answers: dict[int, bytes] = {}

        def all_closed() -> bool:
            for i, s in enumerate(slow_heads):
                if i not in answers:
                    got = _closed(s)
                    if got is not None:
                        answers[i] = got
            return len(answers) == len(slow_heads)

        wait_for(all_closed, 10, "slow-head connections closed")
        # the header timeout's own answer (a cause, not a duration: a loaded machine is slow)
        assert all(a.startswith(b"HTTP/1.1 408") for a in answers.values()), answers
        # a body that trickles in is answered 408 as well
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
            b"content-length: 100\r\n\r\n{"
        )
        got: list[bytes] = []
        wait_for(lambda: got.append(_closed(s) or b"") or b"".join(got), 10, "the 408")
        assert b"".join(got).startswith(b"HTTP/1.1 408"), got
        # a head over max_header_bytes is refused; a normal request still works
        big = httpx.get(f"{base}/healthz", headers={"x-filler": "y" * 4000})
        assert big.status_code == 400
        assert httpx.get(f"{base}/healthz").status_code == 200
        for conn in [*slow_heads, s]:
            conn.close()
