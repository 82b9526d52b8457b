"""OEE benchmark (issue 13 item 7). Every figure comes with its baseline from the same run.

1. ingest: state changes/s from MQTT through the MES's real state consumer
   (`mes.performance.consumer.StateConsumer`: decode, interval builder, downtime events,
   cursors, one transaction per batch, ack after commit) into `perf_state_interval`, against a
   bare paho QoS 1 subscriber draining the same queued messages. Target >= 10,000/s.
2. query: the month-by-line KPI query over `--units` work units x `--days` days of state
   changes every 30 s on average (100 x 30: about 8.6 M intervals), on SQLite and PostgreSQL:
   raw intervals bulk-inserted (COPY on PostgreSQL), period figures pre-aggregated per shift by
   the MES's shift-end job (`figures.close_periods`), then the query the KPI API runs for
   `scope=line&by=range` (`figures.range_model` + `kpi_values`) timed `--repeat` times per
   line: p50/p95 (target p95 <= 1 s). Checked: a sample work unit's month from the period
   figures equals its month built from the raw intervals (`figures.raw_model`), the baseline.
   Lines have 20 units each (the issue's 100 units on 5 lines), so `--units 20` times the
   query of one line at the issue's size; the default `--units 5` keeps `make bench` short.

    .venv/bin/python bench/oee.py [--parts ingest query] [--db sqlite postgres]
                                  [--messages 30000] [--units 100] [--days 30]
                                  [--no-gc-freeze]
"""

from __future__ import annotations

import argparse
import gc
import io
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402
import yaml  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion  # noqa: E402
from sqlalchemy import func, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from config.loader import parse_plant  # noqa: E402
from config.performance import CalendarConfig  # noqa: E402
from config.plant import Broker, PlantConfig  # noqa: E402
from mes.core.db import make_engine  # noqa: E402
from mes.migrations.run import upgrade_head  # noqa: E402
from mes.performance.calendars import calendar_for  # noqa: E402
from mes.performance.consumer import StateConsumer  # noqa: E402
from mes.performance.figures import close_periods, kpi_values, range_model, raw_model  # noqa: E402
from mes.performance.kpi import TimeModel, kpis  # noqa: E402
from mes.performance.models import PeriodFigures, StateInterval  # noqa: E402
from mes.performance.states import Interval, MachineState, Rule, StateMapping  # noqa: E402
from mes.performance.units import Unit  # noqa: E402
from tests.services.mosquitto import Mosquitto  # noqa: E402
from tests.services.ports import wait_for  # noqa: E402
from uns.topics import Namespace  # noqa: E402

NS = Namespace("bench", "plant")
#: work units per line: the issue has 100 units on 5 lines
PER_LINE = 20
#: the month starts at local midnight in the plant's zone, like the KPI API's month buckets
MONTH = datetime(2026, 3, 1, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)
STATES = [
    (MachineState.RUNNING, 60),
    (MachineState.IDLE, 8),
    (MachineState.MICRO_STOP, 10),
    (MachineState.SETUP, 5),
    (MachineState.FAULT, 5),
    (MachineState.NO_ORDER, 6),
    (MachineState.PLANNED_STOP, 3),
    (MachineState.UNKNOWN, 3),
]
_FIGURES = [c for c in PeriodFigures.model_fields if c.endswith("_s")] + [
    "failures",
    "produced",
    "good",
    "scrap",
    "rework",
    "planned",
    "inspected",
    "first_pass_good",
]


def unit(i: int) -> Unit:
    return Unit(
        workstation=f"ws-{i:03d}",
        device=f"dev-{i:03d}",
        path=f"area/line-{i // PER_LINE}/cell-{i:03d}",
        work_centre=f"wc-{i // PER_LINE}",
        mapping=StateMapping(rules=(Rule("speed", "gt", 0, MachineState.RUNNING),)),
        micro_stop_threshold=timedelta(seconds=10),
        silence_timeout=timedelta(seconds=120),
    )


def plant() -> PlantConfig:
    """The plant file with one default calendar: two shifts with a break each, Monday to
    Friday, Europe/Berlin (the KPI code reads the calendar from here)."""
    cfg = parse_plant(yaml.safe_load((ROOT / "config" / "plant.yaml").read_text()), "bench")
    weekdays = [0, 1, 2, 3, 4]
    default = CalendarConfig.model_validate(
        {
            "work_centre": "default",
            "timezone": "Europe/Berlin",
            "shifts": [
                {
                    "name": "early",
                    "start": "06:00",
                    "end": "14:00",
                    "weekdays": weekdays,
                    "breaks": [{"start": "10:00", "end": "10:30"}],
                },
                {
                    "name": "late",
                    "start": "14:00",
                    "end": "22:00",
                    "weekdays": weekdays,
                    "breaks": [{"start": "18:00", "end": "18:30"}],
                },
            ],
        }
    )
    perf = cfg.performance.model_copy(update={"calendars": [default]})
    return cfg.model_copy(update={"performance": perf})


# -- 1. ingest -------------------------------------------------------------------------------


def telemetry(device: str, ts_ms: int, speed: float) -> tuple[str, bytes]:
    topic = f"{NS.root}/area/line-0/cell/{device}/_telemetry"
    body = {
        "v": 1,
        "agent": "bench",
        "device": device,
        "ts": ts_ms,
        "values": [{"tag": "speed", "value": speed, "quality": "good", "ts": ts_ms}],
    }
    return topic, orjson.dumps(body)


def ingest_messages(n: int, units: list[Unit]) -> list[tuple[str, bytes]]:
    """`n` telemetry batches round-robin over the devices; every one changes the device's state
    (speed 0 <-> 50). Times start an hour ahead so the consumer's clock tick closes nothing."""
    t0 = int(time.time() * 1000) + 3_600_000
    out = []
    for k in range(n):
        u = units[k % len(units)]
        step = k // len(units)
        out.append(telemetry(u.device, t0 + step * 30_000, 50.0 if step % 2 else 0.0))
    return out


def publish(port: int, payloads: list[tuple[str, bytes]]) -> None:
    pub = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="bench-oee-pub", protocol=MQTTProtocolVersion.MQTTv5
    )
    pub.max_queued_messages_set(0)
    pub.max_inflight_messages_set(1000)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    for info in [pub.publish(t, p, qos=1) for t, p in payloads]:
        info.wait_for_publish(120)
    pub.disconnect()
    pub.loop_stop()


class BareSubscriber:
    """The baseline: a paho QoS 1 subscriber with a persistent session that only counts."""

    def __init__(self, port: int, topic: str) -> None:
        self.port = port
        self.topic = topic
        self.count = 0
        self.subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id="bench-oee-bare",
            protocol=MQTTProtocolVersion.MQTTv311,
            clean_session=False,
        )
        self.client.on_connect = lambda c, u, f, rc, p=None: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *a: self.subscribed.set()

        def on_message(c: Any, u: Any, m: Any) -> None:
            self.count += 1

        self.client.on_message = on_message

    def start(self) -> None:
        self.subscribed.clear()
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()
        self.subscribed.wait(10)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def bench_ingest(
    broker: Mosquitto, engine: Engine, n: int, n_units: int, freeze: bool = True
) -> dict[str, float]:
    """Messages are queued by the broker for each subscriber's persistent session while it is
    away; the clock runs from its reconnect until the last one is handled."""
    units = [unit(i) for i in range(n_units)]
    payloads = ingest_messages(n, units)
    bare = BareSubscriber(broker.port, f"{NS.root}/+/+/+/+/_telemetry")
    bare.start()
    bare.stop()
    consumer = StateConsumer(
        engine,
        Broker(url=broker.url),
        NS,
        {u.workstation: u for u in units},
        client_id="bench-oee-mes",
        tick_s=60.0,
    )
    consumer.start()
    wait_for(consumer.subscribed.is_set, 10, "the state consumer to subscribe")
    consumer.stop()
    publish(broker.port, payloads)
    if freeze:
        # What is loaded by now lives as long as the process: frozen, as the MES freezes it
        # once its services started (mes/app.py), so the collector's full passes skip it
        gc.freeze()

    started, cpu = time.perf_counter(), time.process_time()
    bare.start()
    wait_for(lambda: bare.count >= n, 300, "the bare subscriber to drain")
    bare_s = time.perf_counter() - started
    bare_cpu = time.process_time() - cpu
    bare.stop()

    consumer = StateConsumer(
        engine,
        Broker(url=broker.url),
        NS,
        {u.workstation: u for u in units},
        client_id="bench-oee-mes",
        tick_s=60.0,
    )
    started, cpu = time.perf_counter(), time.process_time()
    consumer.start()
    wait_for(lambda: consumer.handled >= n, 600, "the state consumer to drain")
    mes_s = time.perf_counter() - started
    mes_cpu = time.process_time() - cpu
    consumer.stop()
    with Session(engine) as s:
        stored = s.exec(select(func.count()).select_from(StateInterval)).one()
    if consumer.rejected:
        raise SystemExit(f"ingest: {consumer.rejected} messages were dead-lettered")
    return {
        "messages": n,
        "intervals": consumer.intervals,
        "stored": stored,
        "mes_s": mes_s,
        "bare_s": bare_s,
        "mes_cpu": mes_cpu,
        "bare_cpu": bare_cpu,
    }


# -- 2. query --------------------------------------------------------------------------------


@dataclass
class Generated:
    rows: int
    insert_s: float
    preagg_s: float
    periods: int


def unit_intervals(rng: random.Random, start: datetime, end: datetime) -> list[Interval]:
    """Contiguous intervals of whole seconds, exponential lengths with a 30 s mean."""
    states = [s for s, _ in STATES]
    weights = [w for _, w in STATES]
    picks = iter(rng.choices(states, weights, k=int((end - start).total_seconds() // 10) + 10))
    out = []
    at = start
    while at < end:
        nxt = min(end, at + timedelta(seconds=max(1, round(rng.expovariate(1 / 30)))))
        out.append(Interval(at, nxt, next(picks)))
        at = nxt
    return out


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S.000000")


def _lines(station: str, intervals: list[Interval]) -> Iterator[tuple[str, str, str, str]]:
    for iv in intervals:
        yield station, _stamp(iv.start), _stamp(iv.end), iv.state.value


def insert_intervals(engine: Engine, station: str, intervals: list[Interval]) -> None:
    rows = _lines(station, intervals)
    raw = engine.raw_connection()
    try:
        if engine.dialect.name == "postgresql":
            with raw.cursor() as cur:  # type: ignore[attr-defined]
                buf = io.StringIO()
                for unit_, a, b, state in rows:
                    buf.write(f"{unit_}\t{a}+00\t{b}+00\t{state}\t\\N\n")
                copy_sql = (
                    'COPY perf_state_interval (work_unit, start, "end", state, reason) FROM STDIN'
                )
                with cur.copy(copy_sql) as copy:
                    copy.write(buf.getvalue())
        else:
            raw.cursor().executemany(
                'INSERT INTO perf_state_interval (work_unit, start, "end", state) '
                "VALUES (?, ?, ?, ?)",
                list(rows),
            )
        raw.commit()
    finally:
        raw.close()


def generate(engine: Engine, cfg: PlantConfig, units: list[Unit], days: int) -> Generated:
    """Raw intervals into the database, then the period figures through the MES's shift-end
    pre-aggregation (`figures.close_periods`), unit by unit."""
    end = MONTH + timedelta(days=days)
    rows = periods = 0
    insert_s = preagg_s = 0.0
    for i, u in enumerate(units):
        intervals = unit_intervals(random.Random(13_000 + i), MONTH, end)
        rows += len(intervals)
        started = time.perf_counter()
        insert_intervals(engine, u.workstation, intervals)
        insert_s += time.perf_counter() - started
        del intervals
        started = time.perf_counter()
        with Session(engine) as s:
            periods += len(close_periods(s, cfg, [u], end))
            s.commit()
        preagg_s += time.perf_counter() - started
    return Generated(rows, insert_s, preagg_s, periods)


def line_month(engine: Engine, cfg: PlantConfig, units: list[Unit], end: datetime) -> TimeModel:
    """The query under test, as the KPI API answers `scope=line&by=range` for the month."""
    with Session(engine) as s:
        model = range_model(s, cfg, units, MONTH, end)
        kpi_values(model)
        return model


def bench_query(engine: Engine, n_units: int, days: int, repeat: int) -> dict[str, Any]:
    cfg = plant()
    units = [unit(i) for i in range(n_units)]
    gen = generate(engine, cfg, units, days)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    end = MONTH + timedelta(days=days)
    lines: dict[str, list[Unit]] = {}
    for u in units:
        lines.setdefault(u.line, []).append(u)
    times = []
    models: dict[str, TimeModel] = {}
    for _ in range(repeat):
        for line, members in sorted(lines.items()):
            started = time.perf_counter()
            models[line] = line_month(engine, cfg, members, end)
            times.append(time.perf_counter() - started)
    started = time.perf_counter()
    line_month(engine, cfg, units, end)
    site_s = time.perf_counter() - started
    sample = units[n_units // 2]
    with Session(engine) as s:
        calendar = calendar_for(s, cfg, sample.work_centre)
        started = time.perf_counter()
        raw = raw_model(s, sample, calendar, MONTH, end)
        raw_s = time.perf_counter() - started
    started = time.perf_counter()
    pre = line_month(engine, cfg, [sample], end)
    pre_s = time.perf_counter() - started
    if pre != raw:
        raise SystemExit(f"query: {sample.workstation}: period figures {pre} != raw {raw}")
    times.sort()
    return {
        "gen": gen,
        "lines": len(lines),
        "runs": len(times),
        "p50": statistics.median(times),
        "p95": times[max(0, round(0.95 * len(times)) - 1)],
        "site_s": site_s,
        "raw_s": raw_s,
        "pre_s": pre_s,
        "sample": sample.workstation,
        "availability": {line: kpis(m).availability for line, m in sorted(models.items())},
    }


def _engine(db: str, work: Path) -> tuple[Engine, Any]:
    if db == "sqlite":
        engine = make_engine(f"sqlite:///{work}/mes-{time.time_ns()}.db")
        upgrade_head(engine)
        return engine, None
    from tests.services.postgres import Postgres

    pg = Postgres(work / "pg")
    url = pg.create_database()
    engine = make_engine(url)
    upgrade_head(engine)
    return engine, (pg, url)


def _drop(engine: Engine, handle: Any) -> None:
    engine.dispose()
    if handle is not None:
        pg, url = handle
        pg.drop_database(url)
        pg.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--parts", nargs="+", choices=["ingest", "query"], default=["ingest", "query"]
    )
    parser.add_argument(
        "--db", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"]
    )
    parser.add_argument("--messages", type=int, default=30_000, help="ingest: state changes")
    parser.add_argument("--ingest-units", type=int, default=100)
    parser.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="ingest: leave the loaded heap to the collector (the MES freezes it at start)",
    )
    parser.add_argument("--units", type=int, default=5, help="query: work units (issue: 100)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=20, help="query: timed repetitions")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-oee-") as tmp:
        work = Path(tmp)
        for db in args.db:
            if "ingest" in args.parts:
                broker = Mosquitto(work / f"mqtt-{db}", persistence=False).start()
                engine, handle = _engine(db, work)
                try:
                    r = bench_ingest(
                        broker, engine, args.messages, args.ingest_units, not args.no_gc_freeze
                    )
                finally:
                    _drop(engine, handle)
                    broker.stop()
                mes_rate = r["intervals"] / r["mes_s"]
                bare_rate = r["messages"] / r["bare_s"]
                print(
                    f"{db}: ingest {r['messages']:,} state changes over {args.ingest_units} work"
                    f" units: {r['intervals']:,} intervals closed ({r['stored']:,} stored) in"
                    f" {r['mes_s']:.2f} s = {mes_rate:,.0f} state changes/s (target >= 10,000)"
                )
                print(
                    f"{db}: baseline, bare paho QoS 1 subscriber, same queued messages:"
                    f" {bare_rate:,.0f} msg/s; ratio {mes_rate / bare_rate:.2f}"
                )
                mes_cpu = r["intervals"] / r["mes_cpu"]
                bare_cpu = r["messages"] / r["bare_cpu"]
                print(
                    f"{db}: per CPU second of this process: MES {mes_cpu:,.0f} state changes,"
                    f" bare {bare_cpu:,.0f} messages; ratio {mes_cpu / bare_cpu:.2f}"
                )
            if "query" in args.parts:
                engine, handle = _engine(db, work)
                try:
                    q = bench_query(engine, args.units, args.days, args.repeat)
                finally:
                    _drop(engine, handle)
                g = q["gen"]
                print(
                    f"{db}: {args.units} work units x {args.days} days: {g.rows:,} intervals"
                    f" inserted in {g.insert_s:.1f} s ({g.rows / g.insert_s:,.0f}/s);"
                    f" close_periods stored {g.periods:,} period figures in {g.preagg_s:.1f} s"
                    f" ({g.rows / g.preagg_s:,.0f} intervals/s)"
                )
                print(
                    f"{db}: month-by-line query (range_model, one line of"
                    f" {min(args.units, PER_LINE)} units), {q['runs']} runs:"
                    f" p50 {q['p50'] * 1000:.1f} ms, p95 {q['p95'] * 1000:.1f} ms"
                    " (target <= 1 s); whole site"
                    f" {q['site_s'] * 1000:.0f} ms"
                )
                print(
                    f"{db}: check {q['sample']}: its month from period figures"
                    f" ({q['pre_s'] * 1000:.1f} ms) equals its month from raw intervals"
                    f" (baseline, figures.raw_model: {q['raw_s'] * 1000:.0f} ms,"
                    f" ratio {q['raw_s'] / q['pre_s']:.0f}x)"
                )
                avail = q["availability"]
                print(
                    f"{db}: availability by line: "
                    + ", ".join(
                        f"{line} {a:.3f}" if a is not None else f"{line} -"
                        for line, a in avail.items()
                    )
                )


if __name__ == "__main__":
    main()
