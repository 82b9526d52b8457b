"""The alarm's language-neutral message: the key and parameters of each kind (pure), in the
alarm API next to the English `message`, and both catalogues filled for every key."""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter
from sqlmodel import Session

from config.alarms import AlarmDefinition
from mes.alarms.texts import AlarmTexts, Text
from mes.i18n import catalogue
from tests.alarms.test_alarm_api import alarm_plant, current, login, raise_in_mes
from tests.mes.scan_harness import add_user, running_app
from tests.services.mosquitto import Mosquitto

DEFINITIONS = TypeAdapter(list[AlarmDefinition]).validate_python(
    [
        {"device": "press-01", "tag": "temp", "kind": "limit", "level": "HH", "limit": 90},
        {"device": "press-01", "tag": "temp", "kind": "limit", "level": "L", "limit": 5},
        {"device": "press-01", "tag": "fault", "kind": "state", "values": [True]},
        {"device": "oven-01", "tag": "t", "kind": "rate_of_change", "max_per_s": 5},
        {"device": "press-01", "tag": "speed", "kind": "quality"},
        {
            "device": "oven-01",
            "tag": "t",
            "kind": "limit",
            "level": "H",
            "limit": 200,
            "message": "Ofen {value}",
        },
    ]
)
TEXTS = AlarmTexts(DEFINITIONS)


@pytest.mark.parametrize(
    ("alarm", "value", "limit", "message", "active", "expected"),
    [
        (
            "press-01.temp.hh",
            92.5,
            90.0,
            "press-01.temp.hh: 92.5 (limit 90.0)",
            True,
            Text(
                "alarm.msg.limit_high",
                {
                    "alarm": "press-01.temp.hh",
                    "device": "press-01",
                    "tag": "temp",
                    "value": 92.5,
                    "limit": 90.0,
                    "level": "HH",
                },
            ),
        ),
        ("press-01.temp.l", 3, 5.0, "", True, "alarm.msg.limit_low"),
        ("press-01.fault.state", True, None, "", True, "alarm.msg.state"),
        ("oven-01.t.roc", 180.0, 5.0, "", True, "alarm.msg.rate_of_change"),
        ("press-01.speed.quality", None, None, "", True, "alarm.msg.quality"),
        (
            "oven-01.t.h",
            201,
            200.0,
            "Ofen 201",
            True,
            Text("alarm.msg.custom", {"text": "Ofen 201"}),
        ),
        (
            "edge-1._edge.offline",
            False,
            None,
            "edge agent edge-1 offline",
            True,
            Text("alarm.msg.agent_offline", {"agent": "edge-1"}),
        ),
        (
            "edge-1._edge.offline",
            True,
            None,
            "edge agent edge-1 online",
            False,
            "alarm.msg.agent_online",
        ),
        (
            "press-01._status.disconnected",
            "disconnected",
            None,
            "device press-01 disconnected: connection refused",
            True,
            Text(
                "alarm.msg.device_error",
                {"device": "press-01", "state": "disconnected", "error": "connection refused"},
            ),
        ),
        (
            "press-01._status.disconnected",
            "connected",
            None,
            "device press-01 connected",
            False,
            Text(
                "alarm.msg.device_state",
                {"device": "press-01", "state": "connected", "error": ""},
            ),
        ),
    ],
)
def test_message_key_of_each_kind(
    alarm: str, value: Any, limit: float | None, message: str, active: bool, expected: Any
) -> None:
    text = TEXTS.of(alarm, value, limit, message, active)
    assert text is not None
    if isinstance(expected, str):
        assert text.key == expected
    else:
        assert text == expected


def test_an_alarm_no_longer_defined_has_no_key() -> None:
    assert TEXTS.of("gone-01.x.hh", 1, 2, "gone-01.x.hh: 1", True) is None


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_every_key_has_a_text_using_its_parameters(language: str) -> None:
    texts = catalogue(language)
    keys = {
        "alarm.msg.limit_high": {"device", "tag", "value", "level", "limit"},
        "alarm.msg.limit_low": {"device", "tag", "value", "level", "limit"},
        "alarm.msg.state": {"device", "tag", "value"},
        "alarm.msg.rate_of_change": {"device", "tag", "limit", "value"},
        "alarm.msg.quality": {"device", "tag"},
        "alarm.msg.custom": {"text"},
        "alarm.msg.agent_offline": {"agent"},
        "alarm.msg.agent_online": {"agent"},
        "alarm.msg.device_state": {"device", "state"},
        "alarm.msg.device_error": {"device", "state", "error"},
    }
    for key, params in keys.items():
        assert all(f"{{{p}}}" in texts[key] for p in params), (key, texts[key])


def test_the_api_gives_key_and_params_beside_the_message(
    mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path
) -> None:
    broker = mosquitto_factory().start()
    cfg = alarm_plant(f"sqlite:///{tmp_path}/mes.db", broker.url, "http://127.0.0.1:9/")
    with running_app(cfg) as (client, engine):
        add_user(engine, "boss", "supervisor", "boss-password-1")
        sup = login(client, "boss", "boss-password-1")
        runtime = client.app.state.services.alarms  # type: ignore[attr-defined]
        raise_in_mes(runtime, engine)
        with Session(engine) as s:
            runtime.service.on_agent_status(s, "edge-9", False, datetime.now(UTC))
            s.commit()
        rows = {r["alarm"]: r for r in current(client, sup)}
        oven = rows["oven-01.temperature.hh"]
        assert oven["message"] == "hot"  # the documented English text, unchanged
        assert oven["message_key"] == "alarm.msg.limit_high"
        assert oven["message_params"] == {
            "alarm": "oven-01.temperature.hh",
            "device": "oven-01",
            "tag": "temperature",
            "value": 210.0,
            "limit": 200.0,
            "level": "HH",
        }
        edge = rows["edge-9._edge.offline"]
        assert (edge["message"], edge["message_key"], edge["message_params"]) == (
            "edge agent edge-9 offline",
            "alarm.msg.agent_offline",
            {"agent": "edge-9"},
        )
        r = client.post(f"/api/v1/alarms/{oven['alarm']}/ack", json={}, headers=sup)
        assert r.status_code == 200, r.text
        assert r.json()["message_key"] == "alarm.msg.limit_high"
