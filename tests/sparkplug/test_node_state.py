"""The sans-I/O Sparkplug edge node and host: births, aliases, seq, exception reporting, the
primary host's STATE, rebirth, DCMD; payloads read back with the independent wire reader."""

import itertools
from pathlib import Path

import orjson
import pytest

from config.loader import ConfigError, parse_plant
from edge.model import Quality, Reading, ReadingBlock, TelemetryBatch
from edge.sparkplug.bdseq import BdSeq
from edge.sparkplug.metrics import alias_table
from edge.sparkplug.node_state import (
    EdgeNode,
    GoOffline,
    Hold,
    Phase,
    Publish,
    WriteCommand,
)
from tests.northbound.synthetic import plant
from tests.sparkplug import wire
from uns.sparkplug.host import REBIRTH_HOLD_OFF_MS, SparkplugHost
from uns.sparkplug.settings import group_of, host_group, node_of
from uns.sparkplug.types import DataType
from uns.topics import Namespace

NOW = 1_800_000_000_000


def node(tmp_path: Path, host: str | None = "scada") -> EdgeNode:
    data = plant("mqtt://127.0.0.1:1883", tmp_path, devices=2)
    data["devices"][0]["tags"][0].update(type="int16", unit="bar")
    return EdgeNode("plant1", "edge-t", alias_table(parse_plant(data).devices), host)


def batch(device: str, **values: object) -> TelemetryBatch:
    readings = [
        Reading(t, v, Quality.GOOD, NOW, NOW)  # type: ignore[arg-type]
        for t, v in values.items()
    ]
    return TelemetryBatch(device, readings, NOW)


def online(n: EdgeNode) -> list[Publish]:
    n.connected(7, NOW)
    out = n.host_state(b'{"online": true, "timestamp": 1}', NOW)
    return [a for a in out if isinstance(a, Publish)]


def tags(tmp_path: Path) -> list[str]:
    data = plant("mqtt://127.0.0.1:1883", tmp_path, devices=1)
    return [t["name"] for t in data["devices"][0]["tags"]]


def test_births_wait_for_the_primary_host_and_name_every_metric(tmp_path: Path) -> None:
    n = node(tmp_path)
    assert n.connected(7, NOW) == []
    assert n.phase is Phase.WAITING
    held = n.telemetry(batch("press-01", t0=3), NOW)
    assert isinstance(held[0], Hold)
    births = online(n)
    assert births[0].topic == "spBv1.0/plant1/NBIRTH/edge-t"
    nbirth = wire.read(births[0].payload)
    assert nbirth.seq == 0
    assert nbirth.by_name()["bdSeq"].value == 7
    assert nbirth.by_name()["Node Control/Rebirth"].value is False
    assert [b.topic for b in births[1:]] == [
        "spBv1.0/plant1/DBIRTH/edge-t/press-01",
        "spBv1.0/plant1/DBIRTH/edge-t/press-02",
    ]
    dbirth = wire.read(births[1].payload)
    assert dbirth.seq == 1
    t0 = dbirth.by_name()["t0"]
    assert (t0.datatype, t0.value, t0.properties) == (
        DataType.INT16, 3, {"engUnit": "bar", "Quality": 192}
    )  # fmt: skip
    assert dbirth.by_name()["_uns/path"].value.count("/") == 2
    aliases = [m.alias for b in births for m in wire.read(b.payload).metrics if m.alias]
    assert len(aliases) == len(set(aliases)), "aliases are unique within the node"


def test_ddata_by_exception_with_aliases_only_and_seq_wraps(tmp_path: Path) -> None:
    n = node(tmp_path)
    births = online(n)
    alias = wire.read(births[1].payload).by_name()["t0"].alias
    n.telemetry(batch("press-01", t0=1, t1=2.5), NOW)  # first values
    out = n.telemetry(batch("press-01", t0=-4, t1=2.5), NOW)
    (ddata,) = out
    assert isinstance(ddata, Publish)
    assert ddata.topic == "spBv1.0/plant1/DDATA/edge-t/press-01"
    body = wire.read(ddata.payload)
    assert [(m.name, m.alias, m.value) for m in body.metrics] == [(None, alias, -4)]
    assert n.telemetry(batch("press-01", t0=-4, t1=2.5), NOW) == []  # nothing changed
    seqs = [wire.read(ddata.payload).seq]
    for i in range(300):
        (p,) = n.telemetry(batch("press-01", t0=i), NOW)
        assert isinstance(p, Publish)
        seqs.append(wire.read(p.payload).seq)
    assert max(seqs) == 255
    assert all(b == (a + 1) % 256 for a, b in itertools.pairwise(seqs))


def test_values_read_in_blocks_travel_like_the_others(tmp_path: Path) -> None:
    """The Modbus driver hands plain-order numbers over in columns (`ReadingBlock`), the rest
    as readings: DDATA carries both."""
    n = node(tmp_path)
    births = online(n)
    by_name = wire.read(births[1].payload).by_name()
    block = ReadingBlock(("t0", "t1"), [1, 2.5], NOW, (None, None))
    n.telemetry(TelemetryBatch("press-01", [], NOW, [block]), NOW)  # first values
    block = ReadingBlock(("t0", "t1"), [5, 7.5], NOW, (None, None))
    (ddata,) = n.telemetry(TelemetryBatch("press-01", [], NOW, [block]), NOW)
    assert isinstance(ddata, Publish)
    values = {m.alias: m.value for m in wire.read(ddata.payload).metrics}
    assert values == {by_name["t0"].alias: 5, by_name["t1"].alias: 7.5}


def test_bad_quality_travels_as_a_property_and_null(tmp_path: Path) -> None:
    n = node(tmp_path)
    online(n)
    bad = TelemetryBatch("press-01", [Reading("t0", None, Quality.BAD, NOW, NOW, "timeout")])
    (p,) = n.telemetry(bad, NOW)
    assert isinstance(p, Publish)
    (m,) = wire.read(p.payload).metrics
    assert m.null
    assert m.properties == {"Quality": 0, "reason": "timeout"}
    (p,) = n.telemetry(batch("press-01", t0=5), NOW)
    assert isinstance(p, Publish)
    assert wire.read(p.payload).metrics[0].properties == {"Quality": 192}


def test_primary_host_offline_then_back_replays_history(tmp_path: Path) -> None:
    n = node(tmp_path)
    online(n)
    stale = n.host_state(b'{"online": false, "timestamp": 0}', NOW)
    assert stale == []  # older than the last STATE seen
    assert n.host_state(b'{"online": false, "timestamp": 5}', NOW) == [GoOffline()]
    n.disconnected()
    n.connected(8, NOW)
    (held,) = n.telemetry(batch("press-01", t0=9), NOW)
    assert isinstance(held, Hold)
    out = n.host_state(b'{"online": true, "timestamp": 6}', NOW)
    assert wire.read(out[0].payload).by_name()["bdSeq"].value == 8  # type: ignore[union-attr]
    (replay,) = n.historical("press-01", held.rows, NOW)
    assert isinstance(replay, Publish)
    (m,) = wire.read(replay.payload).metrics
    assert m.historical
    assert m.value == 9
    assert m.timestamp == NOW


def test_rebirth_on_ncmd_and_dcmd_becomes_writes(tmp_path: Path) -> None:
    n = node(tmp_path)
    births = online(n)
    alias = wire.read(births[1].payload).by_name()["t1"].alias
    n.telemetry(batch("press-01", t0=1), NOW)
    ncmd = wire.command(NOW, [("Node Control/Rebirth", None, 11, True)])
    again = n.command("spBv1.0/plant1/NCMD/edge-t", ncmd, NOW)
    assert [a.topic for a in again if isinstance(a, Publish)] == [b.topic for b in births]
    assert wire.read(again[0].payload).seq == 0  # type: ignore[union-attr]
    dcmd = wire.command(NOW, [("t0", None, 4, 12), (None, alias, 10, 1.5)])
    writes = n.command("spBv1.0/plant1/DCMD/edge-t/press-01", dcmd, NOW)
    assert writes == [WriteCommand("press-01", "t0", 12), WriteCommand("press-01", "t1", 1.5)]
    assert n.command("spBv1.0/other/DCMD/edge-t/press-01", dcmd, NOW) == []


def test_bdseq_is_written_ahead_and_wraps(tmp_path: Path) -> None:
    seq = BdSeq(tmp_path)
    assert seq.current() is None
    assert [seq.next() for _ in range(3)] == [0, 1, 2]
    assert BdSeq(tmp_path).current() == 2  # a new process reads what is on disk
    (tmp_path / "sparkplug-bdseq").write_text("255\n")
    assert seq.next() == 0


def test_host_maps_sparkplug_to_the_uns_messages(tmp_path: Path) -> None:
    n = node(tmp_path)
    ns = Namespace("acme", "plant1")
    host = SparkplugHost(ns, "plant1")
    n.telemetry(batch("press-01", t0=1), NOW)
    out = []
    for p in online(n):
        out += host.receive(p.topic, p.payload)
    assert orjson.loads(out[0].payload)["online"] is True
    telemetry = [m for m in out if m.topic.endswith("press-01/_telemetry")]
    assert orjson.loads(telemetry[0].payload)["values"][0] == {
        "tag": "t0", "value": 1, "quality": "good", "ts": NOW, "unit": "bar"
    }  # fmt: skip
    (p,) = n.telemetry(batch("press-01", t0=2), NOW)
    assert isinstance(p, Publish)
    (m,) = host.receive(p.topic, p.payload)
    assert orjson.loads(m.payload)["values"][0]["value"] == 2
    events = [{"event_id": "e1", "alarm": "hot", "tag": "t0", "condition": "active"}]
    (p,) = n.conditions("press-01", events, NOW)  # type: ignore[arg-type]
    assert isinstance(p, Publish)
    (m,) = host.receive(p.topic, p.payload)
    assert m.topic.endswith("press-01/_conditions")
    assert orjson.loads(m.payload)["events"] == events
    death = n.death(6, NOW)  # an older session's will: ignored
    assert host.receive("spBv1.0/plant1/NDEATH/edge-t", death) == []
    (m,) = host.receive("spBv1.0/plant1/NDEATH/edge-t", n.death(7, NOW))
    assert orjson.loads(m.payload)["online"] is False
    fresh = SparkplugHost(ns, "plant1")  # started after the births: asks for them
    assert fresh.receive(p.topic, p.payload) == []
    assert fresh.rebirth_wanted == {"edge-t"}


def test_a_host_asks_once_for_the_births_until_they_arrive_or_it_gives_up(tmp_path: Path) -> None:
    n = node(tmp_path)
    births = [p for p in online(n) if isinstance(p, Publish)]
    (data,) = n.telemetry(batch("press-01", t0=2), NOW)
    assert isinstance(data, Publish)
    host = SparkplugHost(Namespace("acme", "plant1"), "plant1")
    assert host.receive(data.topic, data.payload) == []
    (ncmd,) = host.rebirths_due(NOW)
    assert ncmd[0] == "spBv1.0/plant1/NCMD/edge-t"
    host.receive(data.topic, data.payload)  # more data before the births arrive
    assert host.rebirths_due(NOW + REBIRTH_HOLD_OFF_MS - 1) == []
    host.receive(data.topic, data.payload)
    assert len(host.rebirths_due(NOW + REBIRTH_HOLD_OFF_MS)) == 1  # no births came: again
    for p in births:
        host.receive(p.topic, p.payload)
    assert host.rebirths_due(NOW + REBIRTH_HOLD_OFF_MS + 1) == []
    (m,) = host.receive(data.topic, data.payload)
    assert orjson.loads(m.payload)["values"][0]["value"] == 2


def test_plant_file_sparkplug_settings(tmp_path: Path) -> None:
    data = plant("mqtt://127.0.0.1:1883", tmp_path)
    cfg = parse_plant(data)
    assert cfg.edge.payloads == ["uns_json"]
    data["edge"]["payloads"] = ["uns_json", "sparkplug_b"]
    cfg = parse_plant(data)
    assert (group_of(cfg), node_of(cfg), host_group(cfg)) == ("plant1", "edge-t", "plant1")
    data["historian"] = {"sparkplug_primary": True}
    with pytest.raises(ConfigError, match=r"needs edge\.sparkplug\.primary_host_id"):
        parse_plant(data)
    data["edge"]["payloads"] = ["mqtt_json"]
    with pytest.raises(ConfigError, match=r"edge\.payloads"):
        parse_plant(data)
