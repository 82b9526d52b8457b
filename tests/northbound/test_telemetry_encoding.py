"""The telemetry payload builds good readings inline: the bytes must be exactly those of
`reading_to_json` for every kind of reading (the historian's fast path relies on them)."""

import orjson

from edge.model import Quality, Reading, TelemetryBatch, reading_to_json
from edge.northbound.encode import telemetry_payload


def test_payload_is_reading_to_json_for_every_kind_of_reading() -> None:
    readings = [
        Reading("a", 1.25, Quality.GOOD, 10, 11),
        Reading("b", 7, Quality.GOOD, 10, 11, None, "rpm"),
        Reading("c", None, Quality.BAD, 10, 11, "comm_timeout", "degC", 3.5),
        Reading("d", 2.5, Quality.UNCERTAIN, 10, 12, "stale", None, 2.5, stale=True),
        Reading("e", True, Quality.GOOD, 10, 11),
        Reading("f", "RUN", Quality.GOOD, 10, 11, None, None),
        Reading("g", float("nan"), Quality.GOOD, 10, 11),  # becomes bad: not_finite
    ]
    batch = TelemetryBatch("press-01", readings, 99)
    expected = orjson.dumps(
        {
            "v": 1,
            "agent": "edge-1",
            "device": "press-01",
            "seq": 4,
            "ts": 99,
            "values": [reading_to_json(r) for r in readings],
        }
    )
    assert telemetry_payload("edge-1", batch, 4) == expected
    assert b'"reason":"not_finite"' in expected
