"""Per-tag processing and DevicePipeline, pure: the clock is passed in."""

from typing import Any

import pytest

from edge.drivers.modbus.config import ModbusDevice
from edge.model import Quality, Reading, TelemetryBatch
from edge.pipeline.device import DevicePipeline
from edge.pipeline.processing import TagProcessor, TagRules, exceeds_deadband


def good(tag: str, value: Any, at: int = 0) -> Reading:
    return Reading(tag, value, Quality.GOOD, at, at)


def bad(tag: str, reason: str, at: int = 0) -> Reading:
    return Reading(tag, None, Quality.BAD, at, at, reason)


def test_report_by_exception_publishes_changes_only() -> None:
    p = TagProcessor("t", TagRules(), 0)
    assert p.process(good("t", 1.0), 0) is not None
    assert p.process(good("t", 1.0), 100) is None
    assert p.process(good("t", 1.5), 200) is not None


def test_absolute_deadband_measures_from_last_published() -> None:
    p = TagProcessor("t", TagRules(deadband=1.0), 0)
    p.process(good("t", 10.0), 0)
    assert p.process(good("t", 10.6), 1) is None
    assert p.process(good("t", 10.9), 2) is None  # drift still measured from 10.0
    out = p.process(good("t", 11.1), 3)
    assert out is not None
    assert out.value == 11.1


def test_percent_deadband() -> None:
    rules = TagRules(deadband_percent=5.0)
    assert not exceeds_deadband(rules, 100.0, 104.0)
    assert exceeds_deadband(rules, 100.0, 106.0)
    assert exceeds_deadband(rules, True, False)
    assert exceeds_deadband(rules, "IDLE", "RUNNING")


def test_quality_change_is_always_published_with_last_value() -> None:
    p = TagProcessor("t", TagRules(deadband=100.0), 0)
    p.process(good("t", 4.1), 0)
    out = p.process(bad("t", "comm_timeout"), 10)
    assert out is not None
    assert out.quality is Quality.BAD
    assert out.last_value == 4.1
    assert p.process(bad("t", "comm_timeout"), 20) is None
    assert p.process(good("t", 4.1), 30) is not None


def test_heartbeat_republishes_unchanged_values() -> None:
    p = TagProcessor("t", TagRules(max_age_ms=1000), 0)
    p.process(good("t", 5), 0)
    assert p.process(good("t", 5), 500) is None
    assert p.process(good("t", 5), 1000) is not None
    assert p.tick(1500) is None
    beat = p.tick(2000)
    assert beat is not None
    assert beat.value == 5
    assert beat.quality is Quality.GOOD


def test_stale_flag_once_then_cleared_by_the_next_value() -> None:
    p = TagProcessor("t", TagRules(stale_after_ms=300), 0)
    p.process(good("t", 7), 0)
    assert p.tick(299) is None
    stale = p.tick(300)
    assert stale is not None
    assert stale.stale
    assert stale.reason == "stale"
    assert stale.quality is Quality.UNCERTAIN
    assert stale.last_value == 7
    assert p.tick(1000) is None  # once
    back = p.process(good("t", 7), 1100)
    assert back is not None
    assert not back.stale
    assert back.quality is Quality.GOOD


def test_a_bad_tag_is_not_flagged_stale_on_top() -> None:
    p = TagProcessor("t", TagRules(stale_after_ms=300), 0)
    p.process(bad("t", "disconnected"), 0)
    assert p.tick(1000) is None


def test_scale_only_when_the_driver_did_not() -> None:
    p = TagProcessor("t", TagRules(apply_scale=True, scale=0.1, offset=1.0, unit="bar"), 0)
    out = p.process(good("t", 20), 0)
    assert out is not None
    assert out.value == pytest.approx(3.0)
    assert out.unit == "bar"
    q = TagProcessor("t", TagRules(apply_scale=False, scale=0.1), 0)
    out = q.process(good("t", 20), 0)
    assert out is not None
    assert out.value == 20


class ListSink:
    def __init__(self) -> None:
        self.batches: list[TelemetryBatch] = []

    def put(self, batch: TelemetryBatch) -> None:
        self.batches.append(batch)


def device() -> ModbusDevice:
    return ModbusDevice.model_validate(
        {
            "name": "press-01",
            "path": "stamping/line1/cell1",
            "driver": "modbus_tcp",
            "connection": {"host": "127.0.0.1", "port": 1502},
            "poll_interval_ms": 100,
            "tags": [
                {"name": "speed", "address": 0, "deadband": 1.0, "scale": 10.0},
                {"name": "count", "address": 1, "max_age_s": 1.0},
            ],
        }
    )


def test_device_pipeline_one_batch_per_poll_skips_empty_and_feeds_observers() -> None:
    sink, seen, statuses = ListSink(), [], []
    now = [0]
    pipe = DevicePipeline(
        device(),
        sink,
        lambda d, s, e: statuses.append((d, s, e)),
        observers=[lambda d, rs: seen.append((d, [r.tag for r in rs]))],
        clock=lambda: now[0],
    )
    pipe.readings([good("speed", 100), good("count", 1)])
    assert len(sink.batches) == 1
    assert sink.batches[0].device == "press-01"
    assert sink.batches[0].readings[0].value == 100  # modbus scales itself: not scaled twice
    now[0] = 100
    pipe.readings([good("speed", 100.5), good("count", 1)])
    assert len(sink.batches) == 1  # nothing changed: no empty batch
    now[0] = 200
    pipe.readings([good("speed", 102), good("count", 1)])
    assert [r.tag for r in sink.batches[-1].readings] == ["speed"]
    assert seen == [("press-01", ["speed", "count"]), ("press-01", ["speed"])]
    pipe.status("connected")
    pipe.status("connected")
    assert statuses == [("press-01", "connected", None)]


def test_device_pipeline_tick_heartbeat_then_stale() -> None:
    sink = ListSink()
    pipe = DevicePipeline(device(), sink, lambda *a: None, clock=lambda: 0)
    pipe.readings([good("speed", 1), good("count", 1)])
    pipe.tick(1000)  # count's 1 s heartbeat
    assert [(r.tag, r.stale) for r in sink.batches[-1].readings] == [("count", False)]
    # default stale time: a poll that may retry twice (100 + 2 x 1000 ms x 2 attempts)
    pipe.tick(4099)
    assert not any(r.stale for r in sink.batches[-1].readings)
    pipe.tick(4100)
    flagged = {r.tag for r in sink.batches[-1].readings if r.stale}
    assert flagged == {"speed", "count"}


def test_a_failing_observer_does_not_stop_the_batch() -> None:
    sink = ListSink()

    def broken(_d: str, _r: list[Reading]) -> None:
        raise RuntimeError("boom")

    pipe = DevicePipeline(device(), sink, lambda *a: None, observers=[broken], clock=lambda: 0)
    pipe.readings([good("speed", 1)])
    assert len(sink.batches) == 1
