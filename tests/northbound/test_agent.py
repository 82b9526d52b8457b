"""The agent in-process with synthetic devices: telemetry, metrics, writes over REST and MQTT."""

import asyncio
import json
import time
from pathlib import Path

import httpx
import orjson
import pytest

from config.loader import parse_plant
from edge.agent import EdgeAgent
from edge.northbound.tokens import token_hash
from tests.northbound.helpers import NS, Collector
from tests.northbound.synthetic import SyntheticDriver, plant
from tests.services.mosquitto import Mosquitto
from tests.services.ports import free_port

PATH = "stamping/line1/cell1"


async def until(cond, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.02)  # polling interval of the wait, not synchronisation
    assert cond(), what


async def test_agent_publishes_serves_metrics_and_writes(
    mosquitto: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    data = plant(mosquitto.url, tmp_path, devices=2, metrics_port=port, token="s3cret")
    data["edge"]["api_tokens"] = {"scada": token_hash("scada-token-1")}
    cfg = parse_plant(data)
    col = Collector(mosquitto.url, f"{NS.root}/#", client_id="col-agent")
    agent = EdgeAgent(cfg, driver_factory=SyntheticDriver)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    await asyncio.wait_for(agent.started.wait(), 10)
    await until(lambda: len(col.seqs("press-02")) >= 5, 10, "telemetry of press-02")
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/api/v1/writes/press-01"
    async with httpx.AsyncClient(timeout=5) as http:
        text = (await http.get(f"{base}/metrics")).text
        assert 'shopfloor_edge_values_read_total{device="press-01"}' in text
        assert "shopfloor_edge_queue_depth" in text
        body = {"request_id": "r1", "tag": "t0", "value": 12.5, "by": "someone-else"}
        assert (await http.post(url, json=body)).status_code == 401
        bad = {"Authorization": "Bearer wrong-guess-42"}
        assert (await http.post(url, json=body, headers=bad)).status_code == 401
        auth = {"Authorization": "Bearer s3cret"}
        ok = await http.post(url, json=body, headers=auth)
        assert ok.status_code == 200
        assert ok.json() == {"v": 1, "request_id": "r1", "ok": True}
        refused = await http.post(url, json={**body, "request_id": "r2", "tag": "t1"}, headers=auth)
        assert refused.status_code == 422
        assert "not writable" in refused.json()["error"]
        garbage = await http.post(url, content=b"{nope", headers=auth)
        assert garbage.status_code == 400
        assert garbage.headers["content-type"] == "application/problem+json"
        scada = {"Authorization": "Bearer scada-token-1"}
        oven = {**body, "request_id": "r3", "value": 10000}  # t0's limits: -100 to 100
        too_hot = await http.post(url, json=oven, headers=scada)
        assert too_hot.status_code == 422
        assert too_hot.headers["content-type"] == "application/problem+json"
        assert too_hot.json()["detail"] == (
            "10000 is outside the limits of press-01.t0: -100 to 100 (plant file)"
        )
        assert too_hot.json()["ok"] is False
    driver = agent.drivers["press-01"]
    assert isinstance(driver, SyntheticDriver)
    assert driver.written == [("t0", 12.5)]
    audit = [json.loads(line) for line in (tmp_path / "state" / "write-audit.jsonl").open()]
    assert [(a["request_id"], a["by"], a["ok"], a["error"]) for a in audit] == [
        (None, "anonymous", False, "unauthorized: no valid bearer token"),
        (None, "anonymous", False, "unauthorized: no valid bearer token"),
        ("r1", "token:api_token", True, None),
        ("r2", "token:api_token", False, "tag 't1' of press-01 is not writable (not configured "
         "writable: true)"),
        (None, "token:api_token", False, "bad request: not JSON: Expecting property name "
         "enclosed in double quotes: line 1 column 2 (char 1)"),
        ("r3", "token:scada", False, too_hot.json()["detail"]),
    ]  # fmt: skip
    assert audit[2]["claimed_by"] == "someone-else"
    assert audit[0]["remote"].startswith("127.0.0.1:")
    assert audit[4]["payload"]["excerpt"] == "{nope"
    assert "wrong-guess-42" not in caplog.text  # a refused token is logged without the token
    assert "wrong-guess-42" not in (tmp_path / "state" / "write-audit.jsonl").read_text()
    # the same over MQTT: _cmd/write -> _cmd/result
    req = {"v": 1, "request_id": "m1", "tag": "t0", "value": 3.0, "by": "mes"}
    col.client.publish(NS.cmd_write(PATH, "press-02"), json.dumps(req), qos=1)
    result_topic = NS.cmd_result(PATH, "press-02")
    await until(lambda: any(t == result_topic for t, _, _ in col.messages), 10, "write result")
    result = next(orjson.loads(p) for t, p, _ in col.messages if t == result_topic)
    assert result == {"v": 1, "request_id": "m1", "ok": True}
    # a non-JSON request and an out-of-limits one: each answered with the reason, and audited
    col.client.publish(NS.cmd_write(PATH, "press-02"), b"\xffnot json", qos=1)
    hot = {**req, "request_id": "m2", "value": 500.0}
    col.client.publish(NS.cmd_write(PATH, "press-02"), json.dumps(hot), qos=1)

    def results() -> list[dict]:  # type: ignore[type-arg]
        return [orjson.loads(p) for t, p, _ in col.messages if t == result_topic]

    await until(lambda: len(results()) == 3, 10, "two more write results")
    assert results()[1]["request_id"] is None
    assert results()[1]["error"].startswith("bad request: ")
    assert results()[2] == {
        "v": 1,
        "request_id": "m2",
        "ok": False,
        "error": "500 is outside the limits of press-02.t0: -100 to 100 (plant file)",
    }
    audit = [json.loads(line) for line in (tmp_path / "state" / "write-audit.jsonl").open()]
    assert [(a["request_id"], a["by"], a["via"], a["ok"]) for a in audit[-3:]] == [
        ("m1", "mqtt", "mqtt", True),
        (None, "mqtt", "mqtt", False),
        ("m2", "mqtt", "mqtt", False),
    ]
    assert audit[-2]["payload"]["bytes"] == 9
    stop.set()
    await asyncio.wait_for(task, 15)

    def statuses() -> list[dict]:  # type: ignore[type-arg]
        return [orjson.loads(p) for t, p, _ in col.messages if t == NS.agent_status("edge-t")]

    # acknowledged before the agent stopped; the collector, another client, hears it after
    await until(lambda: statuses()[-1]["online"] is False, 10, "the offline status")
    assert statuses()[-1]["devices"] == ["press-01", "press-02"]
    dev_status = [  # retained ones are left over from earlier tests on this broker
        orjson.loads(p)
        for t, p, retained in col.messages
        if t == NS.device_status(PATH, "press-01") and not retained
    ]
    assert [s["state"] for s in dev_status][:2] == ["connecting", "connected"]
    col.close()


async def test_no_token_means_writes_refused(mosquitto: Mosquitto, tmp_path: Path) -> None:
    port = free_port()
    cfg = parse_plant(plant(mosquitto.url, tmp_path, metrics_port=port))
    agent = EdgeAgent(cfg, driver_factory=SyntheticDriver)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    await asyncio.wait_for(agent.started.wait(), 10)
    async with httpx.AsyncClient(timeout=5) as http:
        r = await http.post(
            f"http://127.0.0.1:{port}/api/v1/writes/press-01",
            json={"request_id": "x", "tag": "t0", "value": 1},
            headers={"Authorization": "Bearer guess"},
        )
        assert r.status_code == 403
        assert "api_tokens" in r.json()["detail"]
        audit_file = tmp_path / "state" / "write-audit.jsonl"
        audit = [json.loads(line) for line in audit_file.open()]
        assert [(a["by"], a["error"]) for a in audit] == [("anonymous", "writes disabled")]
        # a flood is answered in full but audited within a budget (20 at once, 20 a minute)
        started = time.monotonic()
        for _ in range(60):
            flood = await http.post(f"http://127.0.0.1:{port}/api/v1/writes/press-01", json={})
            assert flood.status_code == 403
        elapsed = time.monotonic() - started
    lines = audit_file.read_text().splitlines()
    assert 20 <= len(lines) <= 20 + elapsed / 3 + 1
    stop.set()
    await asyncio.wait_for(task, 15)
