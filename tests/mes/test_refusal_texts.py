"""Scan refusals say what to do next in the station's language (extension of the scan API):
`error.code` and `error.message` stay as the contract has them, `error.text` is the catalogue's
text in `Accept-Language`, else the station's configured language."""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.mes.scan_harness import admin_token, bearer, enrol, plant_config, running_app, scan
from tests.services.mosquitto import Mosquitto


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, mosquitto: Mosquitto) -> Iterator[Any]:
    db = tmp_path_factory.mktemp("refusal-texts") / "mes.db"
    cfg = plant_config(f"sqlite:///{db}", mosquitto.url)
    stations = [
        w.model_copy(update={"language": "zh-CN"}) if w.id == "ws-20" else w
        for w in cfg.workstations
    ]
    cfg = cfg.model_copy(update={"workstations": stations})
    with running_app(cfg) as (client, _engine):
        admin = admin_token(client)
        yield client, {ws: enrol(client, admin, ws) for ws in ("ws-10", "ws-20")}


def _refused(client: TestClient, token: str, station: str, **kw: Any) -> Any:
    r = scan(client, token, station, "CMD:START", **kw)
    assert r.status_code == 422, r.text
    return r


def test_no_header_english_by_default(app: Any) -> None:
    client, tokens = app
    r = _refused(client, tokens["ws-10"], "ws-10")
    error = r.json()["error"]
    assert error["code"] == "NO_OPERATOR"  # the machine code, unchanged
    assert error["message"].startswith("No operator is logged in")
    assert error["text"] == "Nobody is logged in. Scan your badge (EMP:...) first."
    assert r.headers["content-language"] == "en"


def test_accept_language_chooses(app: Any) -> None:
    client, tokens = app
    body = {"station": "ws-10", "code": "CMD:START", "event_id": str(uuid.uuid4())}
    headers = {**bearer(tokens["ws-10"]), "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
    r = client.post("/api/v1/scans", json=body, headers=headers)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "NO_OPERATOR"
    assert r.json()["error"]["text"].startswith("无人登录")
    assert r.headers["content-language"] == "zh-CN"
    # the same event_id again, asked in English: the first answer, told in English
    headers["Accept-Language"] = "en-GB"
    again = client.post("/api/v1/scans", json=body, headers=headers)
    assert again.json()["error"]["message"] == r.json()["error"]["message"]
    assert again.json()["error"]["text"].startswith("Nobody is logged in")


def test_the_station_language_when_the_client_says_none(app: Any) -> None:
    client, tokens = app
    r = _refused(client, tokens["ws-20"], "ws-20")
    assert r.json()["error"]["text"].startswith("无人登录")
    assert r.headers["content-language"] == "zh-CN"


def test_buttons_too_and_accepted_answers_unchanged(app: Any) -> None:
    client, tokens = app
    auth = {**bearer(tokens["ws-20"]), "Accept-Language": "en"}
    r = client.post("/api/v1/stations/ws-20/start", json={}, headers=auth)
    assert r.status_code == 422
    assert r.json()["error"]["text"].startswith("Nobody is logged in")
    ok = client.post("/api/v1/stations/ws-20/operators/logout", json={}, headers=auth)
    assert ok.status_code == 200, ok.text
    assert "error" not in ok.json()


def test_an_event_id_of_another_station_is_told_in_words(app: Any) -> None:
    client, tokens = app
    event_id = str(uuid.uuid4())
    _refused(client, tokens["ws-10"], "ws-10", event_id=event_id)
    body = {"station": "ws-20", "code": "CMD:START", "event_id": event_id}
    r = client.post("/api/v1/scans", json=body, headers=bearer(tokens["ws-20"]))
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "EVENT_ID_REUSED"
    assert r.json()["text"] == "此扫描已从其他工位发送。请重新扫描。"  # ws-20 speaks zh-CN
