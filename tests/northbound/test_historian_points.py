"""Telemetry -> points -> line protocol, without I/O."""

import orjson
import pytest

from historian.points import BadTelemetry, Converter

TOPIC = "uns/v1/acme/plant1/stamping/line1/cell1/press-01/_telemetry"


def payload(*values: dict[str, object]) -> bytes:
    return orjson.dumps({"v": 1, "device": "press-01", "seq": 1, "ts": 1, "values": list(values)})


def test_every_value_kind_becomes_a_line() -> None:
    conv = Converter()
    body = payload(
        {"tag": "speed", "value": 1200.5, "quality": "good", "ts": 10, "unit": "rpm"},
        {"tag": "count", "value": 7, "quality": "good", "ts": 11},
        {"tag": "fault", "value": True, "quality": "uncertain", "ts": 12, "reason": "stale"},
        {"tag": "state", "value": "RUNNING NOW", "quality": "good", "ts": 13},
        {"tag": "oil", "value": None, "quality": "bad", "ts": 14, "reason": "comm_timeout"},
    )
    lines = conv.lines(TOPIC, body)
    pts = conv.points(TOPIC, body)
    key = (
        "telemetry,enterprise=acme,site=plant1,area=stamping,line=line1,cell=cell1,device=press-01"
    )
    assert lines == [
        f"{key},tag=speed value=1200.5,quality=0i 10",
        f"{key},tag=count value=7.0,quality=0i 11",
        f"{key},tag=fault,reason=stale value=1.0,quality=1i 12",
        f"{key},tag=state,text=RUNNING\\ NOW quality=0i 13",
        f"{key},tag=oil,reason=comm_timeout quality=2i 14",
    ]
    assert pts[3].text == "RUNNING NOW"
    assert pts[4].value is None


@pytest.mark.parametrize(
    ("topic", "body", "error"),
    [
        ("uns/v1/acme/plant1/x/_telemetry", payload(), "not a telemetry topic"),
        (TOPIC, b"{not json", "not a telemetry batch"),
        (TOPIC, payload({"tag": "a", "value": 1, "quality": "superb", "ts": 1}), r"values\[0\]"),
        (TOPIC, payload({"tag": "a", "value": [1], "quality": "good", "ts": 1}), "type list"),
    ],
)
def test_bad_messages_are_named(topic: str, body: bytes, error: str) -> None:
    with pytest.raises(BadTelemetry, match=error):
        Converter().points(topic, body)
    with pytest.raises(BadTelemetry, match=error):
        Converter().lines(topic, body)
