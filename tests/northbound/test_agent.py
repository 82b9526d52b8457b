"""The agent in-process with synthetic devices: telemetry, metrics, writes over REST and MQTT."""

import asyncio
import json
from pathlib import Path

import httpx
import orjson

from config.loader import parse_plant
from edge.agent import EdgeAgent
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
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    port = free_port()
    cfg = parse_plant(plant(mosquitto.url, tmp_path, devices=2, metrics_port=port, token="s3cret"))
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
        body = {"request_id": "r1", "tag": "t0", "value": 12.5, "by": "test"}
        assert (await http.post(url, json=body)).status_code == 401
        bad = {"Authorization": "Bearer wrong"}
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
    driver = agent.drivers["press-01"]
    assert isinstance(driver, SyntheticDriver)
    assert driver.written == [("t0", 12.5)]
    audit = [json.loads(line) for line in (tmp_path / "state" / "write-audit.jsonl").open()]
    assert [(a["request_id"], a["tag"], a["ok"]) for a in audit] == [
        ("r1", "t0", True),
        ("r2", "t1", False),
    ]
    # the same over MQTT: _cmd/write -> _cmd/result
    req = {"v": 1, "request_id": "m1", "tag": "t0", "value": 3.0, "by": "mes"}
    col.client.publish(NS.cmd_write(PATH, "press-02"), json.dumps(req), qos=1)
    result_topic = NS.cmd_result(PATH, "press-02")
    await until(lambda: any(t == result_topic for t, _, _ in col.messages), 10, "write result")
    result = next(orjson.loads(p) for t, p, _ in col.messages if t == result_topic)
    assert result == {"v": 1, "request_id": "m1", "ok": True}
    stop.set()
    await asyncio.wait_for(task, 15)
    statuses = [orjson.loads(p) for t, p, _ in col.messages if t == NS.agent_status("edge-t")]
    assert statuses[-1]["online"] is False
    assert statuses[-1]["devices"] == ["press-01", "press-02"]
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
    assert "api_token" in r.json()["detail"]
    stop.set()
    await asyncio.wait_for(task, 15)
