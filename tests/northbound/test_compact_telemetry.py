"""The compact telemetry payload (docs/contracts.md section 2b) carries exactly what the
per-value JSON carries, and every consumer reads the same data from either."""

import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from config.loader import parse_plant
from edge.model import Quality, Reading, ReadingBlock, TelemetryBatch
from edge.northbound.encode import compact_payload, telemetry_payload
from historian.fastlines import compact_lines
from historian.points import BadTelemetry, Converter
from mes.core.errors import BadMessage
from mes.performance.ingest import telemetry_readings
from tests.northbound.helpers import northbound
from tests.northbound.synthetic import plant
from uns.telemetry import compact_values, telemetry_filters
from uns.topics import Namespace

NS = Namespace("acme", "plant1")
JSON_TOPIC = NS.telemetry("stamping/line1/cell1", "press-01")
COMPACT_TOPIC = NS.telemetry_compact("stamping/line1/cell1", "press-01")


def odd_reading(rng: random.Random, i: int, ts: int) -> Reading:
    kind = rng.choice(["bad", "stale", "good", "text", "bool", "int"])
    if kind == "bad":
        return Reading(f"r{i}", None, Quality.BAD, ts, ts, "comm_timeout", "bar", 4.5)
    if kind == "stale":
        return Reading(f"r{i}", 3.0, Quality.UNCERTAIN, ts - 5, ts, "stale", None, 3.0, True)
    if kind == "text":
        return Reading(f"r{i}", "RUNNING", Quality.GOOD, ts, ts)
    if kind == "bool":
        return Reading(f"r{i}", True, Quality.GOOD, ts + 1, ts + 1)
    if kind == "int":
        return Reading(f"r{i}", -12, Quality.GOOD, ts, ts, None, "pcs")
    return Reading(f"r{i}", 1.25, Quality.GOOD, ts + 2, ts + 2, None, "mm")


def random_batch(rng: random.Random, odd: bool = True, units: bool = True) -> TelemetryBatch:
    ts = 1_795_604_923_000
    blocks = []
    for b in range(rng.randint(0, 3)):
        n = rng.randint(1, 20)
        tags = tuple(f"b{b}_{i}" for i in range(n))
        unit = rng.choice([None, "bar"]) if units else None
        values = [rng.choice([rng.uniform(-1e6, 1e6), float(rng.randint(0, 9)), 7]) for _ in tags]
        blocks.append(ReadingBlock(tags, values, ts + rng.choice([0, 0, 1]), (unit,) * n))
    readings = [odd_reading(rng, i, ts) for i in range(rng.randint(0, 6) if odd else 0)]
    return TelemetryBatch("press-01", readings, ts, blocks)


def test_compact_decodes_to_the_per_value_objects() -> None:
    for seed in range(200):
        batch = random_batch(random.Random(seed))
        per_value = orjson.loads(telemetry_payload("edge-1", batch, 9))
        compact = orjson.loads(compact_payload("edge-1", batch, 9))
        assert compact_values(compact) == per_value["values"], seed
        for key in ("agent", "device", "seq", "ts"):
            assert compact[key] == per_value[key]
        assert compact["format"] == "compact"


def test_the_compact_form_of_a_plain_poll() -> None:
    block = ReadingBlock(("a", "b", "c"), [1.5, 2.0, -3], 100, (None, None, None))
    odd = Reading("d", None, Quality.BAD, 101, 101, "comm_timeout", None, 7.0)
    body = orjson.loads(compact_payload("e", TelemetryBatch("p", [odd], 99, [block]), 4))
    assert body == {
        "v": 1,
        "format": "compact",
        "agent": "e",
        "device": "p",
        "seq": 4,
        "ts": 99,
        "tags": ["a", "b", "c", "d"],
        "values": [1.5, 2.0, -3, None],
        "times": [[100, 3], [101, 1]],
        "marks": [{"i": 3, "quality": "bad", "reason": "comm_timeout", "last_value": 7.0}],
    }


def test_historian_writes_the_same_lines_from_either_form() -> None:
    conv = Converter()
    fast = 0
    for seed in range(200):
        rng = random.Random(seed)
        batch = random_batch(rng, odd=rng.random() < 0.5)
        json_lines, n = conv.encode(JSON_TOPIC, telemetry_payload("e", batch, 1))
        from_compact, m = conv.encode(COMPACT_TOPIC, compact_payload("e", batch, 1))
        assert (m, sorted(from_compact.split(b"\n"))) == (n, sorted(json_lines.split(b"\n")))
        if not batch.readings and batch.blocks:  # good numbers only: cut from the bytes
            body = orjson.loads(compact_payload("e", batch, 1))
            assert compact_lines(
                b"s,tag=", compact_payload("e", batch, 1), body["tags"], body["times"]
            )
            fast += 1
        assert conv.points(COMPACT_TOPIC, compact_payload("e", batch, 1)) == conv.points(
            JSON_TOPIC, telemetry_payload("e", batch, 1)
        )
    assert fast > 50  # the cut-from-bytes path was exercised


@pytest.mark.parametrize(
    "body",
    [
        {"format": "compact", "ts": 1, "tags": ["a"], "values": [], "times": [[1, 1]]},
        {"format": "compact", "ts": 1, "tags": ["a"], "values": [1], "times": [[1, 2]]},
        {"format": "compact", "ts": 1, "tags": ["a"], "values": [1], "times": "x"},
        {"format": "compact", "ts": 1, "tags": ["a"], "values": [1], "times": [[1, 1]],
         "marks": [{"i": 5, "quality": "bad"}]},
        {"format": "compact", "ts": 1, "tags": ["a"], "values": [1], "times": [["x", 1]]},
        {"format": "compact", "ts": 1, "tags": ["a"], "values": [1], "times": [[1, 1.0]]},
        {"format": "compact", "ts": 1, "tags": [7], "values": [1], "times": [[1, 1]]},
        {"format": "compact", "ts": 1, "tags": ["a"], "values": [1], "times": [[1, 1]],
         "marks": 3},
        {"format": "compact", "ts": 1, "tags": ["a"], "values": [1], "times": [[1, 1]],
         "marks": [{"i": 0, "quality": "awful"}]},
    ],
)  # fmt: skip
def test_a_broken_compact_message_is_refused_by_every_consumer(body: dict[str, Any]) -> None:
    payload = orjson.dumps(body)
    with pytest.raises(BadTelemetry):
        Converter().encode(COMPACT_TOPIC, payload)
    with pytest.raises(BadMessage):
        telemetry_readings(body)


def test_mes_reads_the_same_states_from_either_form() -> None:
    for seed in range(100):
        batch = random_batch(random.Random(seed))
        batch.readings += [Reading("b0_0", None, Quality.BAD, 5, 5, "comm_timeout")]
        per_value = orjson.loads(telemetry_payload("e", batch, 1))
        compact = orjson.loads(compact_payload("e", batch, 1))
        assert telemetry_readings(compact) == telemetry_readings(per_value), seed


def test_consumers_read_both_topics_unless_the_agent_publishes_both() -> None:
    both = [NS.all_telemetry, NS.all_telemetry_compact]
    assert telemetry_filters(NS) == both
    assert telemetry_filters(NS, ["uns_compact"]) == both
    assert telemetry_filters(NS, ["uns_json", "uns_compact"]) == [NS.all_telemetry_compact]


def test_payloads_config() -> None:
    data = plant("mqtt://127.0.0.1:1883", Path("/tmp"), devices=0)
    assert parse_plant(data).edge.payloads == ["uns_json"]
    data["edge"]["payloads"] = ["uns_compact"]
    assert parse_plant(data).edge.payloads == ["uns_compact"]
    data["edge"]["payloads"] = ["protobuf"]
    with pytest.raises(Exception, match="payloads"):
        parse_plant(data)


def test_the_publisher_writes_the_uns_payloads_and_leaves_others_to_their_adapters(
    tmp_path: Path,
) -> None:
    def payloads(*kinds: str) -> tuple[str, ...]:
        return northbound("mqtt://127.0.0.1:1", str(tmp_path / "q.sqlite"), payloads=kinds).payloads

    assert payloads() == ()
    assert payloads("uns_compact", "uns_json", "uns_compact") == ("uns_compact", "uns_json")
    assert payloads("sparkplug_b", "uns_json") == ("uns_json",)  # Sparkplug: its own publisher
