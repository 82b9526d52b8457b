"""An agent publishing `uns_compact` feeds the historian (into a real VictoriaMetrics) and the
MES state consumer the same data as one publishing `uns_json`, through a real Mosquitto."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from paho.mqtt.enums import MQTTProtocolVersion
from sqlmodel import Session, col, select

from config.loader import parse_plant
from config.plant import Broker
from edge.agent import EdgeAgent
from edge.model import Quality, Reading, ReadingBlock, TelemetryBatch
from historian.service import Historian
from mes.performance.consumer import StateConsumer
from mes.performance.models import StateInterval, WorkUnitCursor
from mes.performance.units import work_units
from simulators.modbus.machine import ModbusSimulator
from simulators.modbus.testing import press_config, press_tags
from tests.northbound.helpers import NS as HELPER_NS
from tests.northbound.helpers import Collector, northbound
from tests.northbound.synthetic import plant as synthetic_plant
from tests.northbound.test_agent import until
from tests.northbound.test_historian import historian_cfg
from tests.performance.adapters import NS, mes_db, ms, plant, s
from tests.services.mosquitto import Mosquitto
from tests.services.ports import free_port, wait_for
from tests.services.victoria import Victoria
from uns.telemetry import compact_values

BLOCK = tuple(f"t{i}" for i in range(8))


def poll(device: str, i: int, t0: int) -> TelemetryBatch:
    """One poll: two blocks of changing values, a bad value, a string and a boolean."""
    ts = t0 + 10 * i
    blocks = [
        ReadingBlock(BLOCK[:5], [i + 0.5 * k for k in range(5)], ts, ("bar",) * 5),
        ReadingBlock(BLOCK[5:], [i * 3, -i, 1e-3 * i], ts + 1, (None,) * 3),
    ]
    odd = [
        Reading("temp", None, Quality.BAD, ts, ts, "comm_timeout", "C", 21.5),
        Reading("mode", "RUN" if i % 2 else "SETUP", Quality.GOOD, ts, ts),
        Reading("door", bool(i % 3), Quality.GOOD, ts + 2, ts + 2),
    ]
    return TelemetryBatch(device, odd if i % 4 else [], ts, blocks)


def series(vm: Victoria, device: str) -> dict[tuple[str, ...], list[tuple[int, float]]]:
    out: dict[tuple[str, ...], list[tuple[int, float]]] = {}
    for name in ("telemetry_value", "telemetry_quality"):
        for sr in vm.export(f'{name}{{device="{device}"}}'):
            m = sr["metric"]
            key = (name, m["tag"], m.get("text", ""), m.get("reason", ""))
            out[key] = sorted(zip(sr["timestamps"], sr["values"], strict=True))
    return out


def test_historian_stores_the_same_points_from_either_payload(
    mosquitto: Mosquitto, victoria_factory: Callable[..., Victoria], tmp_path: Path
) -> None:
    vm = victoria_factory().start()
    cfg = historian_cfg(mosquitto.url, tmp_path, url=vm.url, client_id="hist-compact")
    hist = Historian(cfg, MQTTProtocolVersion.MQTTv5)
    hist.start()
    wait_for(lambda: hist.stats.subscribed, 10, "historian subscribed")
    as_json = northbound(mosquitto.url, str(tmp_path / "j.sqlite"), payloads=("uns_json",))
    compact = northbound(mosquitto.url, str(tmp_path / "c.sqlite"), payloads=("uns_compact",))
    as_json.start()
    compact.start()
    t0 = 1_795_600_000_000
    total = 0
    for i in range(40):
        b = poll("press-01", i, t0)
        as_json.put(b)
        compact.put(TelemetryBatch("press-02", b.readings, b.ts, b.blocks))
        total += 2 * b.count
    wait_for(lambda: hist.stats.points_written >= total, 20, "every point of both agents")
    as_json.stop()
    compact.stop()
    hist.stop()
    assert hist.stats.bad_messages == 0
    # 9 value series (8 block tags, door) and 12 quality series (also temp, mode RUN/SETUP)
    wait_for(
        lambda: len(series(vm, "press-01")) == len(series(vm, "press-02")) == 21,
        15,
        "all series searchable",
    )
    from_json, from_compact = series(vm, "press-01"), series(vm, "press-02")
    assert from_compact == from_json
    assert from_json[("telemetry_value", "t0", "", "")][:2] == [(t0, 0.0), (t0 + 10, 1.0)]
    assert ("telemetry_quality", "temp", "", "comm_timeout") in from_json


def states(engine: Any, since: datetime) -> list[tuple[Any, ...]]:
    """The intervals the telemetry made (from `since`; not the one before, which starts when
    the agent status was heard, at wall-clock time)."""
    with Session(engine) as session:
        rows = session.exec(select(StateInterval).order_by(col(StateInterval.start))).all()
    return [(r.work_unit, r.state, r.start, r.end, r.reason) for r in rows if r.start >= since]


def input_time(engine: Any) -> datetime:
    """The last input time of the press's work unit (the start of time before any)."""
    with Session(engine) as session:
        cursor = session.get(WorkUnitCursor, "ws-10")
    return cursor.now if cursor is not None else datetime.min.replace(tzinfo=UTC)


def press_poll(at: datetime, state: int | None, fault: bool) -> TelemetryBatch:
    """The press of config/plant.yaml: its state register and fault coil, read as one block
    (a bad state register read travels as a reading instead)."""
    t = ms(at)
    if state is None:
        bad = Reading("state", None, Quality.BAD, t, t, "comm_timeout")
        return TelemetryBatch("press-01", [bad], t, [ReadingBlock(("fault",), [fault], t, (None,))])
    block = ReadingBlock(("state", "fault"), [state, fault], t, (None, None))
    return TelemetryBatch("press-01", [], t, [block])


def test_mes_states_are_the_same_from_either_payload(mosquitto: Mosquitto, tmp_path: Path) -> None:
    # telemetry after the agent status (heard now): an older message would be a redelivery
    t0 = datetime.now(UTC).replace(microsecond=0) + s(60)
    polls = [
        press_poll(t0, 1, False),
        press_poll(t0 + s(30), 2, True),
        press_poll(t0 + s(60), 1, False),
        press_poll(t0 + s(90), None, False),
        press_poll(t0 + s(150), 1, False),
        press_poll(t0 + s(200), 1, False),
    ]
    got = {}
    for payload in ("uns_json", "uns_compact"):
        (tmp_path / payload).mkdir()
        engine = mes_db(tmp_path / payload)
        cons = StateConsumer(
            engine, Broker(url=mosquitto.url), NS, work_units(plant()),
            client_id=f"mes-states-{payload}", tick_s=3600,
        )  # fmt: skip
        cons.start()
        wait_for(cons.subscribed.is_set, 10, "state consumer subscribed")
        nb = northbound(mosquitto.url, str(tmp_path / f"{payload}.sqlite"), payloads=(payload,))
        nb.start()
        for p in polls:
            nb.put(p)
        try:
            # `handled` counts the status messages too: wait for the last poll's time
            wait_for(lambda e=engine: input_time(e) >= t0 + s(200), 30, f"{payload} polls handled")
            assert cons.rejected == 0
        finally:
            # the consumer first: the agent's offline status at its stop would close the open
            # interval in one run and not in the other, as the race falls
            cons.stop()
            nb.stop()
        got[payload] = states(engine, t0)
    assert got["uns_compact"] == got["uns_json"]
    assert [r[1] for r in got["uns_json"]][:3] == ["running", "micro_stop", "running"]


async def test_agent_with_both_payloads_publishes_each_poll_twice_alike(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """The real agent and Modbus driver (block path) against the simulated press with
    `edge.payloads: [uns_json, uns_compact]`: every poll goes out on both topics with the same
    seq and, decoded, the same values."""
    port = free_port()
    data = synthetic_plant(mosquitto.url, tmp_path, devices=1)
    data["edge"]["payloads"] = ["uns_json", "uns_compact"]
    data["devices"][0].update(
        connection={"host": "127.0.0.1", "port": port},
        poll_interval_ms=50,
        tags=press_tags(),
    )
    cfg = parse_plant(data)
    col = Collector(mosquitto.url, f"{HELPER_NS.root}/+/+/+/press-01/_telemetry/#", "col-compact")
    json_topic = HELPER_NS.telemetry("stamping/line1/cell1", "press-01")

    def by_seq(suffix: str) -> dict[int, dict[str, Any]]:
        with col.lock:
            msgs = [orjson.loads(p) for t, p, _ in col.messages if t == json_topic + suffix]
        return {m["seq"]: m for m in msgs if m["agent"] == "edge-t"}

    async with ModbusSimulator([press_config(port, name="press-01")]):
        stop = asyncio.Event()
        task = asyncio.create_task(EdgeAgent(cfg).run(stop))
        await until(lambda: len(by_seq("/compact")) >= 8, 20, "compact telemetry")
        stop.set()
        await asyncio.wait_for(task, 15)
    # the collector may still be receiving; a poll the stop caught between its two publishes
    # (the second stays in the agent's queue) is the only difference allowed
    await until(lambda: len(set(by_seq("")) & set(by_seq("/compact"))) >= 8, 10, "both topics")
    col.close()
    as_json, compact = by_seq(""), by_seq("/compact")
    both = set(compact) & set(as_json)
    assert all(seq > max(both) for seq in set(compact) ^ set(as_json)), (compact, as_json)
    for seq in both:
        body = compact[seq]
        assert compact_values(body) == as_json[seq]["values"], seq
        assert (body["ts"], body["device"]) == (as_json[seq]["ts"], as_json[seq]["device"])
    assert all("marks" not in b for b in compact.values())  # a healthy press: all good
    assert len({tuple(b["values"]) for b in compact.values()}) > 1  # the press is running
