"""The dashboard and delivery report API on a seeded plant (SQLite; one PostgreSQL run): the
on-time rate, the Pareto order, WIP and the lead-time split worked out by hand in `seed`;
roles; problem+json on bad periods and unknown orders; CSV and XLSX exports."""

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from config.performance import Performance
from config.plant import (
    Area,
    Cell,
    Hierarchy,
    Line,
    Product,
    Routing,
    RoutingOperation,
    ScrapReason,
)
from tests.dashboard.seed import RANGE, seed
from tests.mes.scan_harness import add_user, admin_token, bearer, enrol, plant_config, running_app
from tests.performance.adapters import plant
from tests.services.mosquitto import Mosquitto
from tests.services.postgres import Postgres

Client = tuple[TestClient, dict[str, str]]


#: master data names of the seeded plant's routing, products and scrap reasons
MASTER_DATA = {
    "products": [Product(code="BRKT-200", name="Bracket 200", name_zh_cn="支架 200")],
    "routings": [
        Routing(
            id="RT",
            product="BRKT-200",
            operations=[
                RoutingOperation(
                    number="0010",
                    name="Cut",
                    name_zh_cn="下料",
                    workstation="ws-10",
                    cycle_time_s=60,
                ),
                RoutingOperation(number="0020", name="Bend", workstation="ws-20", cycle_time_s=60),
            ],
        )
    ],
    "scrap_reasons": [ScrapReason(code="BURR", en="Burr", zh_cn="毛刺")],
    "plant": Hierarchy(
        enterprise="acme",
        site="plant1",
        areas=[
            Area(
                name="stamping",
                lines=[
                    Line(
                        name="line1",
                        display_name="Press line",
                        display_name_zh_cn="冲压线",
                        cells=[Cell(name="c1")],
                    )
                ],
            )
        ],
    ),
}


def _client(url: str, mosquitto: Mosquitto, **master_data: Any) -> Iterator[Client]:
    cfg = plant_config(url, mosquitto.url)
    cfg = cfg.model_copy(
        update={"performance": Performance(reasons=plant().performance.reasons), **master_data}
    )
    with running_app(cfg) as (client, engine):
        seed(engine)
        add_user(engine, "boss", "supervisor", "boss-password-1")
        r = client.post(
            "/api/v1/auth/login", json={"username": "boss", "password": "boss-password-1"}
        )
        yield client, bearer(r.json()["access_token"])


@pytest.fixture
def broker(mosquitto_factory: Callable[..., Mosquitto]) -> Mosquitto:
    """A broker of this test's own: the shared one keeps other tests' retained device
    statuses, which would raise alarms here and change `alarms_open`."""
    return mosquitto_factory().start()


@pytest.fixture
def api(tmp_path: Path, broker: Mosquitto) -> Iterator[Client]:
    yield from _client(f"sqlite:///{tmp_path}/mes.db", broker)


def get(api: Client, path: str, **params: str) -> Any:
    client, who = api
    r = client.get(f"/api/v1{path}", params={**RANGE, **params}, headers=who)
    assert r.status_code == 200, r.text
    return r.json()


def check_summary(api: Client) -> dict[str, Any]:
    """The seeded plant's summary against the figures worked out by hand in seed.py."""
    s = get(api, "/dashboard/summary")
    assert isinstance(s, dict)
    assert s["on_time"] | {"definition": ""} == {
        "due": 4,
        "on_time": 2,
        "late": 2,
        "open_overdue": 1,
        "pending": 0,
        "rate": 0.5,
        "definition": "",
    }
    assert [(r["key"], r["quantity"]) for r in s["scrap_by_reason"]] == [
        ("BURR", 12),
        ("SCRATCH", 12),
        ("DENT", 3),
    ]
    assert [round(r["cumulative"], 4) for r in s["scrap_by_reason"]] == [
        round(12 / 27, 4),
        round(24 / 27, 4),
        1.0,
    ]
    assert [(r["key"], r["quantity"]) for r in s["scrap_by_product"]] == [
        ("BRKT-200", 15),
        ("PLATE-9", 12),
    ]
    assert [(w["operation"], w["name"], w["work_orders"], w["quantity"]) for w in s["wip"]] == [
        ("0010", "Cut", 1, 30),
        ("0020", "Bend", 1, 60),
    ]
    # planned: WO-1..4 (270); good at last operations in the week: 95 + 50 + 20 (+40 at WO-4's
    # running last step); scrap at every operation: 27
    assert s["output"] == {"planned": 270, "good": 205, "scrap": 27, "ratio": 205 / 270}
    # the times summed, then the ratios: availability 7 h / 12 h, effectiveness 3.5 h / 7 h
    (day,) = s["oee_trend"]
    assert (day["line"], day["day"], day["quality"]) == ("stamping/line1", "2026-11-03", 0.9)
    # a line without a display name is named by its area/line in both languages
    assert day["name"] == "stamping/line1"
    assert day["names"] == {"en": "stamping/line1", "zh-CN": "stamping/line1"}
    assert day["availability"] == pytest.approx(7 / 12)
    assert day["effectiveness"] == pytest.approx(0.5)
    assert day["oee"] == pytest.approx(7 / 12 * 0.5 * 0.9)
    # lead times: WO-1 26 h, WO-2 52 h, WO-3 27 h
    assert s["lead_time"] == {"orders": 3, "mean_h": 35.0, "p50_h": 27.0, "p90_h": 47.0}
    top = s["downtime_top"]
    assert [(d["reason"], d["seconds"], d["events"]) for d in top] == [
        ("DIE", 7200, 1),
        (None, 3600, 1),
    ]
    assert (s["alarms_open"], s["holds_open"]) == (0, 0)
    return s


def test_summary_figures_by_hand(api: Client) -> None:
    s = check_summary(api)
    assert s["on_time"]["rate"] == 0.5  # 2 of the 4 orders due were completed by their due date


def test_each_figure_is_its_own_endpoint(api: Client) -> None:
    s = get(api, "/dashboard/summary", lang="zh-CN")
    assert isinstance(s, dict)
    assert get(api, "/dashboard/on-time") == s["on_time"]
    assert get(api, "/dashboard/output") == s["output"]
    assert get(api, "/dashboard/wip") == s["wip"]
    assert get(api, "/dashboard/scrap", by="product", lang="zh-CN") == s["scrap_by_product"]
    assert get(api, "/dashboard/oee-trend", lang="zh-CN") == s["oee_trend"]
    assert get(api, "/dashboard/lead-time") == s["lead_time"]
    assert get(api, "/dashboard/downtime-top", lang="zh-CN") == s["downtime_top"]
    jam = s["downtime_top"][0]
    assert jam["name"] == jam["names"]["zh-CN"] != jam["names"]["en"]


def test_names_from_master_data_in_the_language_asked(tmp_path: Path, broker: Mosquitto) -> None:
    """The WIP operations, products, scrap reasons and lines carry the master data's Chinese names
    (they were the English operation names and bare codes in zh-CN); what master data does
    not name shows as stored: in English, or as its code."""
    api = _client(f"sqlite:///{tmp_path}/mes.db", broker, **MASTER_DATA)
    client = next(api)
    try:
        zh = get(client, "/dashboard/summary", lang="zh-CN")
        en = get(client, "/dashboard/summary", lang="en")
        assert [(w["operation"], w["name"]) for w in zh["wip"]] == [
            ("0010", "下料"),
            ("0020", "Bend"),
        ]
        assert [w["name"] for w in en["wip"]] == ["Cut", "Bend"]
        assert zh["wip"][0]["names"] == {"en": "Cut", "zh-CN": "下料"}
        assert get(client, "/dashboard/wip", lang="zh-CN") == zh["wip"]
        assert [(r["key"], r["name"]) for r in zh["scrap_by_product"]] == [
            ("BRKT-200", "支架 200"),
            ("PLATE-9", "PLATE-9"),
        ]
        assert en["scrap_by_product"][0]["name"] == "Bracket 200"
        assert [(r["key"], r["name"]) for r in zh["scrap_by_reason"]] == [
            ("BURR", "毛刺"),
            ("SCRATCH", "SCRATCH"),
            ("DENT", "DENT"),
        ]
        assert en["scrap_by_reason"][0]["name"] == "Burr"
        # the line by its display names; its id unchanged
        (day,) = zh["oee_trend"]
        assert (day["line"], day["name"]) == ("stamping/line1", "冲压线")
        assert day["names"] == {"en": "Press line", "zh-CN": "冲压线"}
        assert en["oee_trend"][0]["name"] == "Press line"
        assert get(client, "/dashboard/oee-trend", lang="zh-CN") == zh["oee_trend"]
        assert get(client, "/dashboard/oee-trend", lang="en") == en["oee_trend"]
    finally:
        api.close()


def test_drill_down(api: Client) -> None:
    def numbers(**params: str) -> list[str]:
        rows = get(api, "/dashboard/orders", **params)
        assert isinstance(rows, list)
        return [r["work_order"] for r in rows]

    assert numbers(figure="late") == ["WO-000002", "WO-000004"]
    assert numbers(figure="on_time") == ["WO-000001", "WO-000003"]
    assert numbers(figure="open_overdue") == ["WO-000004"]
    assert numbers(figure="due") == ["WO-000001", "WO-000002", "WO-000003", "WO-000004"]
    assert numbers(figure="wip") == ["WO-000004", "WO-000005"]
    assert numbers(figure="wip", operation="0020") == ["WO-000004"]
    assert numbers(figure="scrap", reason="SCRATCH") == ["WO-000002", "WO-000001"]
    assert numbers(figure="scrap", product="PLATE-9") == ["WO-000003"]
    (wo2,) = [r for r in get(api, "/dashboard/orders", figure="late") if r["lateness_h"] == 24]
    assert (wo2["good"], wo2["scrap"]) == (50, 7)


def test_delivery_report_splits_lead_time_and_names_the_cause(api: Client) -> None:
    row = get(api, "/reports/delivery/WO-000002")
    assert isinstance(row, dict)
    # released 3 Nov 08:00, completed 5 Nov 12:00: 52 h. Hold 4 Nov 12:00 - 5 Nov 08:00 (20 h);
    # downtime 4 Nov 10:00-12:00 while 0020 ran (2 h); runs 3 Nov 09-12 and 4 Nov 10:00 - 5 Nov
    # 12:00 less hold and downtime: 3 + 26 - 20 - 2 = 7 h; queue 52 - 20 - 2 - 7 = 23 h
    assert {k: row[k] for k in ("lead_time_h", "hold_h", "downtime_h", "run_h", "queue_h")} == {
        "lead_time_h": 52,
        "hold_h": 20,
        "downtime_h": 2,
        "run_h": 7,
        "queue_h": 23,
    }
    assert (row["lateness_h"], row["late"], row["cause"]) == (24, True, "holds")
    on_time = get(api, "/reports/delivery/WO-000001")
    assert isinstance(on_time, dict)
    assert (on_time["cause"], on_time["lateness_h"]) == (None, -2)
    # WO-4, open past due: 60 pieces added after release at 2 x 60 s each = 2 h; released
    # 28 h before its due date for 100 x 2 min = 3.3 h of work: not a late release
    wo4 = get(api, "/reports/delivery/WO-000004")
    assert (wo4["cause"], wo4["contributions_h"]["quantity_change"]) == ("quantity_change", 2)
    assert wo4["contributions_h"]["late_release"] == 0
    rows = get(api, "/reports/delivery")
    assert isinstance(rows, list)
    assert [r["work_order"] for r in rows] == ["WO-000001", "WO-000002", "WO-000003", "WO-000004"]


def test_delivery_exports(api: Client) -> None:
    client, who = api
    r = client.get("/api/v1/reports/delivery", params={**RANGE, "format": "csv"}, headers=who)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == (
        'attachment; filename="delivery-2026-11-02-2026-11-09.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [(x["work_order"], x["cause"]) for x in rows][:2] == [
        ("WO-000001", ""),
        ("WO-000002", "holds"),
    ]
    assert (rows[1]["hold_h"], rows[1]["downtime_h"]) == ("20.0", "2.0")
    r = client.get("/api/v1/reports/delivery", params={**RANGE, "format": "xlsx"}, headers=who)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert r.headers["content-disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "work_order"
    assert len(values) == 5
    assert values[2][0] == "WO-000002"
    assert values[2][15] == "holds"
    assert sheet.freeze_panes == "A2"


def test_auth_and_problems(api: Client) -> None:
    client, who = api
    r = client.get("/api/v1/dashboard/summary")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    station = enrol(client, admin_token(client), "ws-10")
    r = client.get("/api/v1/reports/delivery", params=RANGE, headers=bearer(station))
    assert r.status_code == 200  # stations read (READ): see docs/dashboard.md
    bad = [
        {"period": "range", "start": RANGE["end"], "end": RANGE["start"]},
        {"period": "range", "start": RANGE["start"]},
        {"period": "year"},
        {"period": "today", "start": RANGE["start"]},
        {"period": "range", "start": "2026-11-02T00:00:00", "end": RANGE["end"]},
    ]
    for params in bad:
        r = client.get("/api/v1/dashboard/on-time", params=params, headers=who)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    r = client.get("/api/v1/reports/delivery/WO-999999", headers=who)
    assert (r.status_code, r.json()["code"]) == (404, "WORK_ORDER_NOT_FOUND")
    r = client.get("/api/v1/dashboard/orders", params={**RANGE, "figure": "nope"}, headers=who)
    assert r.status_code == 422


def test_summary_on_postgresql(postgres: Postgres, broker: Mosquitto) -> None:
    url = postgres.create_database()
    try:
        for client in _client(url, broker):
            assert check_summary(client)["on_time"]["rate"] == 0.5
            row = get(client, "/reports/delivery/WO-000002")
            assert isinstance(row, dict)
            assert row["cause"] == "holds"
            assert row["hold_h"] == 20
    finally:
        postgres.drop_database(url)
