"""The alarm service in a running MES: condition events over a real broker into the lifecycle,
`_mes/alarms` out, signed webhooks with retries, operator actions and health over HTTP."""

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from sqlmodel import Session

from config.plant import PlantConfig
from edge.alarms.conditions import Condition, ConditionEvent
from edge.alarms.topics import conditions_topic
from mes.alarms.notify import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.alarms.webhook_sink import WebhookSink
from tests.mes.scan_harness import PLANT, add_user, bearer, running_app
from tests.northbound.helpers import Collector
from tests.services.mosquitto import Mosquitto
from tests.services.ports import wait_for
from uns.topics import Namespace

NS = Namespace("acme", "plant1")
ALARM = "oven-01.temperature.hh"
SECRET = "hook-secret-1"


def alarm_plant(db_url: str, broker_url: str, hook_url: str) -> PlantConfig:
    raw: dict[str, Any] = json.loads(json.dumps(PLANT))
    raw["plant"]["areas"].append(
        {"name": "finishing", "lines": [{"name": "line1", "cells": [{"name": "oven1"}]}]}
    )
    raw["database"] = {"url": db_url}
    raw["broker"] = {"url": broker_url}
    raw["devices"] = [
        {
            "name": "oven-01",
            "path": "finishing/line1/oven1",
            "driver": "opcua",
            "endpoint": "opc.tcp://127.0.0.1:4840",
            "tags": [{"name": "temperature", "node_id": "ns=2;s=T"}],
        }
    ]
    raw["alarms"] = [
        {
            "device": "oven-01",
            "tag": "temperature",
            "kind": "limit",
            "level": "HH",
            "limit": 200,
            "priority": "critical",
        }
    ]
    raw["alarm_settings"] = {
        "webhooks": [{"url": hook_url, "secret": SECRET}],
        "retry_backoff_s": 0.05,
        "escalation": {"after_minutes": 5},
    }
    return PlantConfig.model_validate(raw)


def publish(broker: Mosquitto, topic: str, payload: dict[str, Any]) -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:6]}")
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    c.publish(topic, orjson.dumps(payload), qos=1).wait_for_publish(5)
    c.disconnect()
    c.loop_stop()


def raised(ts: int) -> dict[str, Any]:
    return {
        "v": 1,
        "agent": "edge-1",
        "device": "oven-01",
        "ts": ts,
        "events": [
            {
                "event_id": f"{ALARM}@{ts}:raised",
                "alarm": ALARM,
                "tag": "temperature",
                "condition": "raised",
                "ts": ts,
                "since": ts - 100,
                "value": 207.5,
                "limit": 200.0,
                "quality": "good",
                "priority": "critical",
                "message": "oven at 207.5",
            }
        ],
    }


def raise_in_mes(runtime: Any, engine: Any, alarm: str = ALARM, priority: str = "critical") -> None:
    """A raise applied straight to the service (as the consumer would)."""
    ts = int(datetime.now(UTC).timestamp() * 1000)
    ev = ConditionEvent(
        alarm,
        "oven-01",
        "temperature",
        Condition.RAISED,
        ts,
        ts,
        210.0,
        200.0,
        "good",
        priority,
        "hot",
    )
    with Session(engine) as s:
        runtime.service.on_conditions(s, [ev])
        s.commit()


@pytest.fixture
def mosquitto(mosquitto_factory: Callable[..., Mosquitto]) -> Mosquitto:
    """A private broker: no retained statuses or queued sessions from other tests."""
    return mosquitto_factory().start()


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    s = WebhookSink(fail_first=1)
    yield s
    s.close()


def login(client: TestClient, user: str, password: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    return bearer(r.json()["access_token"])


def current(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    r = client.get("/api/v1/alarms", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return list(r.json())


def test_condition_to_ack_with_notifications(
    mosquitto: Mosquitto, sink: WebhookSink, tmp_path: Path
) -> None:
    cfg = alarm_plant(f"sqlite:///{tmp_path}/mes.db", mosquitto.url, sink.url)
    col = Collector(mosquitto.url, NS.alarms, client_id="col-mes-alarms")
    with running_app(cfg) as (client, engine):
        add_user(engine, "boss", "supervisor", "boss-password-1")
        add_user(engine, "qa", "quality", "qa-password-1")
        sup, qa = login(client, "boss", "boss-password-1"), login(client, "qa", "qa-password-1")
        runtime = client.app.state.services.alarms  # type: ignore[attr-defined]
        wait_for(runtime.consumer.subscribed.is_set, 10, "alarm consumer subscribed")
        ts = int(datetime.now(UTC).timestamp() * 1000)
        topic = conditions_topic(NS, "finishing/line1/oven1", "oven-01")
        publish(mosquitto, topic, raised(ts))
        publish(mosquitto, topic, raised(ts))  # a re-send from the edge queue: ignored
        wait_for(lambda: current(client, sup), 10, "the alarm in the current list")
        (row,) = current(client, sup, area="finishing", priority="critical")
        assert (row["state"], row["value"], row["path"]) == (
            "active_unacked",
            207.5,
            "finishing/line1/oven1/oven-01",
        )
        assert current(client, sup, area="stamping") == []

        # _mes/alarms per the contract
        wait_for(lambda: len(col.messages) >= 1, 10, "_mes/alarms event")
        event = orjson.loads(col.messages[0][1])
        assert {k: event[k] for k in ("v", "alarm", "state", "priority", "limit", "by")} == {
            "v": 1,
            "alarm": ALARM,
            "state": "active_unacked",
            "priority": "critical",
            "limit": 200.0,
            "by": None,
        }
        # the webhook failed once (503), then got it, signed
        wait_for(lambda: len(sink.posts) >= 1, 10, "webhook delivery after a retry")
        headers, body = sink.posts[0]
        assert verify(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
        assert orjson.loads(body)["event_id"] == event["event_id"]

        # operator actions, role-checked
        r = client.post(f"/api/v1/alarms/{ALARM}/out-of-service", json={"reason": "x"}, headers=qa)
        assert r.status_code == 403
        assert r.headers["content-type"] == "application/problem+json"
        r = client.post(f"/api/v1/alarms/{ALARM}/ack", json={"comment": "door shut"}, headers=qa)
        assert r.status_code == 200, r.text
        assert (r.json()["state"], r.json()["by"], r.json()["comment"]) == (
            "active_acked",
            "user:qa",
            "door shut",
        )
        r = client.post(f"/api/v1/alarms/{ALARM}/ack", json={}, headers=qa)
        assert r.status_code == 409
        assert "cannot acknowledge when active_acked" in r.json()["detail"]
        r = client.post(
            f"/api/v1/alarms/{ALARM}/shelve",
            json={"minutes": 30, "reason": "probe swap"},
            headers=sup,
        )
        assert r.json()["state"] == "shelved"
        runtime.periodic(datetime.now(UTC) + timedelta(minutes=31))  # the shelf runs out
        (row,) = current(client, sup)
        assert row["state"] == "active_unacked"
        r = client.post(f"/api/v1/alarms/{ALARM}/out-of-service", json={"reason": "x"}, headers=sup)
        assert r.json()["state"] == "out_of_service"
        assert client.post("/api/v1/alarms/nope/ack", json={}, headers=sup).status_code == 404

        hist = client.get("/api/v1/alarms/history", params={"alarm": ALARM}, headers=sup).json()
        assert [h["action"] for h in reversed(hist)] == [
            "raised",
            "acknowledge",
            "shelve",
            "unshelve",
            "remove_from_service",
        ]
        health = client.get("/api/v1/alarms/health", headers=sup).json()
        assert health["areas"][0]["area"] == "finishing"
        assert health["areas"][0]["total"] == 1
        assert health["bad_actors"] == [{"alarm": ALARM, "raises": 1}]
        wait_for(lambda: len(col.messages) >= 5, 10, "an _mes/alarms event per change")
    col.close()


def test_unacknowledged_critical_alarm_escalates_once(
    mosquitto: Mosquitto, sink: WebhookSink, tmp_path: Path
) -> None:
    cfg = alarm_plant(f"sqlite:///{tmp_path}/mes.db", mosquitto.url, sink.url)
    with running_app(cfg) as (client, engine):
        runtime = client.app.state.services.alarms  # type: ignore[attr-defined]
        raise_in_mes(runtime, engine)
        runtime.periodic(datetime.now(UTC) + timedelta(minutes=4))
        runtime.periodic(datetime.now(UTC) + timedelta(minutes=6))
        runtime.periodic(datetime.now(UTC) + timedelta(minutes=9))
        wait_for(lambda: len(sink.posts) >= 2, 10, "raise and escalation posted")
        # the first post failed and was retried: webhooks do not promise order, MQTT does
        actions = sorted(orjson.loads(b)["action"] for _, b in sink.posts)
        assert actions == ["escalated", "raised"]
        escalated = next(orjson.loads(b) for _, b in sink.posts if b"escalated" in b)
        assert (escalated["alarm"], escalated["escalated_after_minutes"]) == (ALARM, 5)


def test_live_stream_sends_alarm_events(
    mosquitto: Mosquitto, sink: WebhookSink, tmp_path: Path
) -> None:
    cfg = alarm_plant(f"sqlite:///{tmp_path}/mes.db", mosquitto.url, sink.url)
    with running_app(cfg) as (client, engine):
        add_user(engine, "boss", "supervisor", "boss-password-1")
        sup = login(client, "boss", "boss-password-1")
        runtime = client.app.state.services.alarms  # type: ignore[attr-defined]
        assert client.get("/api/v1/alarms/stream").status_code == 401
        with client.stream("GET", "/api/v1/alarms/stream", headers=sup) as resp:
            assert resp.headers["content-type"].startswith("text/event-stream")
            lines = (line for line in resp.iter_lines() if line)  # blank lines end events
            assert next(lines) == ": connected"
            raise_in_mes(runtime, engine)
            runtime.relay.wake()
            got = [next(lines) for _ in range(2)]
            assert got[0] == "event: alarms"
            data = json.loads(got[1].removeprefix("data: "))
            assert (data["alarm"], data["state"], data["action"]) == (
                ALARM,
                "active_unacked",
                "raised",
            )


def test_conditions_sent_while_the_mes_is_down_arrive_and_restart_raises_nothing_twice(
    mosquitto: Mosquitto, sink: WebhookSink, tmp_path: Path
) -> None:
    cfg = alarm_plant(f"sqlite:///{tmp_path}/mes.db", mosquitto.url, sink.url)
    topic = conditions_topic(NS, "finishing/line1/oven1", "oven-01")
    ts = int(datetime.now(UTC).timestamp() * 1000)
    with running_app(cfg) as (client, _):
        runtime = client.app.state.services.alarms  # type: ignore[attr-defined]
        wait_for(runtime.consumer.subscribed.is_set, 10, "consumer subscribed")
    publish(mosquitto, topic, raised(ts))  # the MES is down: its session keeps the message
    with running_app(cfg) as (client, engine):
        add_user(engine, "boss", "supervisor", "boss-password-1")
        sup = login(client, "boss", "boss-password-1")
        wait_for(lambda: current(client, sup), 10, "the alarm raised while the MES was down")
        runtime = client.app.state.services.alarms  # type: ignore[attr-defined]
    with running_app(cfg) as (client, engine):
        sup = login(client, "boss", "boss-password-1")
        runtime = client.app.state.services.alarms  # type: ignore[attr-defined]
        wait_for(runtime.consumer.subscribed.is_set, 10, "consumer subscribed")
        publish(mosquitto, topic, raised(ts + 1000))  # the edge restarted and raised again
        wait_for(
            lambda: runtime.consumer.applied == 0 and runtime.consumer.handled >= 1,
            10,
            "the second raise handled",
        )
        hist = client.get("/api/v1/alarms/history", params={"alarm": ALARM}, headers=sup).json()
        assert [h["action"] for h in hist] == ["raised"]
        (row,) = current(client, sup)
        assert row["state"] == "active_unacked"
