"""The board API over HTTP: tokens and roles, the live stream (snapshot, then only the changes
of a scan), a browser that goes away, and a server that stops while boards are open."""

import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.board.support import Plant, finish_and_close, plant, seed, serve, served_plant
from tests.services.mosquitto import Mosquitto
from tests.services.ports import wait_for


@pytest.fixture(params=["sqlite", "postgresql"])
def mes(request: pytest.FixtureRequest, tmp_path: Path, mosquitto: Mosquitto) -> Iterator[Plant]:
    with served_plant(request, tmp_path, mosquitto.url, _unname_finishing) as p:
        yield p


def _unname_finishing(data: dict[str, Any]) -> None:
    """The demo plant with its finishing line and the oven's work centre left unnamed."""
    finishing = next(a for a in data["plant"]["areas"] if a["name"] == "finishing")
    for line in finishing["lines"]:
        line.pop("display_name", None)
        line.pop("display_name_zh_cn", None)
    data["work_centres"] = [c for c in data["work_centres"] if c["id"] != "OVEN"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    name = "message"
    for line in lines:
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            yield name, json.loads(line[5:])


def test_the_board_needs_a_token_and_the_display_token_reads_only_the_board(mes: Plant) -> None:
    assert httpx.get(f"{mes.base}/api/v1/board").status_code == 401
    assert httpx.get(f"{mes.base}/api/v1/board/stream").status_code == 401
    tv = bearer(mes.display_token)
    board = httpx.get(f"{mes.base}/api/v1/board", headers=tv).json()
    by_order = {o["work_order"]: o for o in board["orders"]}
    risky = by_order[mes.orders["PO-RISK"]]
    assert risky["at_risk"]
    assert not risky["overdue"]
    assert by_order[mes.orders["PO-LATE"]]["overdue"]
    assert not by_order[mes.orders["PO-ONTIME"]]["at_risk"]
    assert by_order[mes.orders["PO-ONTIME"]]["operation_good"] == 30
    assert [h["target_id"] for h in board["holds"]] == [mes.orders["PO-HELD"]]
    tiles = {t["station"]: t for t in board["tiles"]}
    assert tiles["ws-20"]["stop"]["reason"] is None
    assert tiles["ws-20"]["alarms"] == 1
    assert tiles["ws-10"]["operators"] == ["Li Wei"]
    # the line and work centre by their ids, and by their names from the plant file
    ws10 = tiles["ws-10"]
    assert (ws10["line"], ws10["work_centre"]) == ("stamping/line1", "PRESS")
    assert ws10["line_names"] == {"en": "Press line", "zh-CN": "冲压线"}
    assert ws10["work_centre_names"] == {"en": "Press work centre", "zh-CN": "冲压工作中心"}
    ws20 = tiles["ws-20"]  # unnamed: the ids
    assert (ws20["line"], ws20["work_centre"]) == ("finishing/line1", "OVEN")
    assert ws20["line_names"] == {"en": "finishing/line1", "zh-CN": "finishing/line1"}
    assert ws20["work_centre_names"] == {"en": "OVEN", "zh-CN": "OVEN"}
    for path in ("/api/v1/work-orders", "/api/v1/holds", "/api/v1/performance/reasons"):
        assert httpx.get(f"{mes.base}{path}", headers=tv).status_code == 403, path
    r = httpx.post(
        f"{mes.base}/api/v1/work-orders/{mes.orders['PO-ONTIME']}/suspend",
        json={"reason": "tv"},
        headers=tv,
    )
    assert r.status_code == 403


def test_the_stream_sends_the_board_then_what_a_scan_changed(mes: Plant) -> None:
    feed = mes.app.state.services.board
    got: list[tuple[str, dict[str, Any]]] = []
    with httpx.stream(
        "GET", f"{mes.base}/api/v1/board/stream", headers=bearer(mes.token("sup1")), timeout=30
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        stream = events(r.iter_lines())
        got.append(next(stream))
        assert got[0][0] == "snapshot"
        assert feed.subscribers == 1
        builds = feed.builds
        for _ in range(3):  # a burst of scans
            mes.scan("QTY:1")
        for name, body in stream:
            got.append((name, body))
            tiles = body.get("tiles", {}).get("upsert", [])
            if any(t["station"] == "ws-10" and t["job"]["good"] == 33 for t in tiles):
                break
    name, body = got[-1]
    assert name == "changes"
    assert [t["station"] for t in body["tiles"]["upsert"]] == ["ws-10"]  # only what changed
    assert "holds" not in body
    assert feed.builds - builds <= 3  # one rebuild per burst, not per tile or per browser
    # the browser went away: its subscription ends
    wait_for(lambda: feed.subscribers == 0, 10, "the stream to notice the client left")


def test_a_finished_order_stays_on_the_board_once_the_erp_closed_it(mes: Plant) -> None:
    """The demo's TV once showed ws-20 on WO-000005 while its order list held WO-000006 only:
    the ERP acknowledged the final confirmation at once, the order became CLOSED, and the board
    listed COMPLETED orders only. A finished order stays a day, closed or not; the tile keeps
    the job still selected at the station, with its operation's status."""
    wo = finish_and_close(mes, "PO-ONTIME")
    board = httpx.get(f"{mes.base}/api/v1/board", headers=bearer(mes.display_token)).json()
    closed = {o["work_order"]: o for o in board["orders"]}.get(wo)
    assert closed is not None, [o["work_order"] for o in board["orders"]]
    assert (closed["state"], closed["good"], closed["progress"]) == ("CLOSED", 50, 1.0)
    assert closed["completed_at"] is not None
    # finished on time: its finish is its completion, it is neither late nor at risk
    assert closed["predicted_finish"] == closed["completed_at"]
    assert (closed["at_risk"], closed["overdue"]) == (False, False)
    job = {t["station"]: t for t in board["tiles"]}["ws-20"]["job"]
    assert (job["work_order"], job["operation"], job["status"]) == (wo, "0020", "DONE")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_open_streams_end_when_the_server_stops(tmp_path: Path, mosquitto: Mosquitto) -> None:
    ended: list[float] = []
    last_alarm_lines: list[str] = []
    uvicorn_log = _Records()  # on uvicorn's logger once it is configured (serve sets it up)
    with serve(plant(f"sqlite:///{tmp_path / 'mes.db'}", mosquitto.url)) as (base, engine, app):
        logging.getLogger("uvicorn.error").addHandler(uvicorn_log)
        plant_ = seed(base, engine, app)
        token = plant_.display_token
        supervisor = plant_.token("sup1")

        def watch() -> None:
            with httpx.stream(
                "GET", f"{base}/api/v1/board/stream", headers=bearer(token), timeout=30
            ) as r:
                for _ in r.iter_lines():
                    pass
            ended.append(time.monotonic())

        def watch_alarms() -> None:
            with httpx.stream(
                "GET", f"{base}/api/v1/alarms/stream", headers=bearer(supervisor), timeout=30
            ) as r:
                lines = [line for line in r.iter_lines() if line]
            last_alarm_lines.append(lines[-1])
            ended.append(time.monotonic())

        threads = [threading.Thread(target=watch, daemon=True) for _ in range(3)]
        threads += [threading.Thread(target=watch_alarms, daemon=True) for _ in range(2)]
        for t in threads:
            t.start()
        wait_for(lambda: app.state.services.board.subscribers == 3, 10, "three boards")
        wait_for(lambda: app.state.services.alarms.hub.subscribers == 2, 10, "two alarm streams")
    logging.getLogger("uvicorn.error").removeHandler(uvicorn_log)
    for t in threads:
        t.join(10)
    assert len(ended) == 5
    # the streams were ended by the server, not cut by uvicorn's graceful timeout (5 s here),
    # which it would have logged (a cause, not a duration: a loaded machine may be slow)
    assert last_alarm_lines == [": server stopping"] * 2
    assert not [m for m in uvicorn_log.messages if "graceful shutdown exceeded" in m]


def test_past_its_cap_the_board_keeps_open_orders_first_and_says_how_many_it_left_off(
    mes: Plant, monkeypatch: pytest.MonkeyPatch
) -> None:
    finish_and_close(mes, "PO-ONTIME")
    url, token = f"{mes.base}/api/v1/board", bearer(mes.display_token)
    whole = httpx.get(url, headers=token).json()
    states = sorted(o["state"] for o in whole["orders"])
    assert whole["orders_left_off"] == 0
    stamping = [o for o in whole["orders"] if o["operation"] == "0010"]
    assert stamping
    assert all(o["operation_names"] == {"en": "Stamp", "zh-CN": "冲压"} for o in stamping)
    assert {"HELD", "RELEASED", "CLOSED"} <= set(states), states
    monkeypatch.setattr("mes.board.snapshot.MAX_ORDERS", len(states) - 1)
    capped = httpx.get(url, headers=token).json()
    kept = sorted(o["state"] for o in capped["orders"])
    assert kept == sorted(s for s in states if s != "CLOSED")  # the finished one goes first
    assert capped["orders_left_off"] == 1
    monkeypatch.setattr("mes.board.snapshot.MAX_ORDERS", 1)
    capped = httpx.get(url, headers=token).json()
    assert [o["state"] for o in capped["orders"]] == ["HELD"]  # held before released
    assert capped["orders_left_off"] == len(states) - 1
