"""`GET /api/v1/stations/{id}/queue`: the open operations of released or running orders for the
station and its work centre, by priority then due date; a station reads only its own."""

from pathlib import Path

from config.plant import PlantConfig
from tests.mes.orders_support import intake, release_message
from tests.mes.scan_harness import (
    PLANT,
    add_operators,
    admin_token,
    bearer,
    enrol,
    plant_config,
    running_app,
    scan,
)
from tests.services.mosquitto import Mosquitto


def _plant(tmp_path: Path, broker: str) -> PlantConfig:
    raw = plant_config(f"sqlite:///{tmp_path}/mes.db", broker).model_dump(mode="json")
    raw["mes"]["bootstrap_admin_password"] = PLANT["mes"]["bootstrap_admin_password"]
    raw["workstations"][1]["language"] = "zh-CN"
    raw["routings"][0]["operations"][1]["name_zh_cn"] = "折弯"
    raw["work_centres"] = [{"id": "PRESS", "name": "Presses", "name_zh_cn": "冲压工作中心"}]
    return PlantConfig.model_validate(raw)


def test_queue_of_a_station_and_its_work_centre(tmp_path: Path, mosquitto: Mosquitto) -> None:
    with running_app(_plant(tmp_path, mosquitto.url)) as (client, engine):
        admin = admin_token(client)
        ws10, ws20 = enrol(client, admin, "ws-10"), enrol(client, admin, "ws-20")
        add_operators(client, admin, "E1")
        low = intake(engine, release_message("PO-LOW", 10, priority=1)).work_order
        urgent = intake(
            engine, release_message("PO-URGENT", 5, priority=5, due_at="2026-12-02T08:00:00Z")
        ).work_order
        r = client.get("/api/v1/stations/ws-10/queue", headers=bearer(ws10))
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["station"], body["work_centre"], body["area"]) == (
            "ws-10",
            "STAMP",
            "stamping",
        )
        assert body["language"] is None
        # a work centre the plant file does not name: its id in both languages
        assert body["work_centre_names"] == {"en": "STAMP", "zh-CN": "STAMP"}
        assert [(j["work_order"], j["operation"]) for j in body["jobs"]] == [
            (urgent, "0010"),
            (low, "0010"),
        ]
        assert body["jobs"][0]["quantity"] == 5
        # names by language from the routing: 0010 has no Chinese name in this plant file, so
        # the Chinese one is the English one
        assert body["jobs"][0]["names"] == {"en": "Stamp", "zh-CN": "Stamp"}
        # ws-20 works 0020 (work centre PRESS): blocked until 0010 released good parts
        r = client.get("/api/v1/stations/ws-20/queue", headers=bearer(ws20))
        assert (r.json()["language"], r.json()["jobs"]) == ("zh-CN", [])
        assert r.json()["work_centre_names"] == {"en": "Presses", "zh-CN": "冲压工作中心"}
        for code in ("EMP:E1", f"WO:{urgent}/0010", "CMD:START", "QTY:5", "CMD:COMPLETE"):
            assert scan(client, ws10, "ws-10", code).status_code == 200, code
        ws20_jobs = client.get("/api/v1/stations/ws-20/queue", headers=bearer(ws20)).json()["jobs"]
        assert [(j["work_order"], j["operation"]) for j in ws20_jobs] == [(urgent, "0020")]
        assert ws20_jobs[0]["names"] == {"en": "Bend", "zh-CN": "折弯"}
        ws10_jobs = client.get("/api/v1/stations/ws-10/queue", headers=bearer(ws10)).json()["jobs"]
        assert [j["work_order"] for j in ws10_jobs] == [low]  # the done one left the queue
        # a station reads only its own queue; unknown stations are 404 problems
        r = client.get("/api/v1/stations/ws-20/queue", headers=bearer(ws10))
        assert (r.status_code, r.json()["code"]) == (403, "FORBIDDEN")
        r = client.get("/api/v1/stations/ws-99/queue", headers=bearer(admin))
        assert (r.status_code, r.json()["code"]) == (404, "UNKNOWN_STATION")
        assert client.get("/api/v1/stations/ws-10/queue").status_code == 401
