"""Northbound benchmark (issue 4 item 7). Every figure comes with its baseline from the same run.

1. publish: values/s from the agent's durable queue through Mosquitto to a subscriber, against
   a bare paho QoS 1 publish loop of the same (pre-encoded) batches;
2. W1: the agent as a process (10 Modbus devices x 500 float32 read from the press simulator
   through the real driver and the full pipeline, durable queue on, QoS 1; `--w1-source synthetic`
   for in-process devices), at a 100 ms poll (CPU % of one core, RSS) and at a 20 ms poll
   (values/s delivered to a subscriber);
3. historian: points/s from MQTT through the historian into VictoriaMetrics, against a bare
   influxdb-client line-protocol write loop of the same points (and CPU per point of each
   side); `--parts historian-cpu`: the historian's own CPU per point, with a no-op store;
4. replay: values/s replayed after a broker outage while live data keeps flowing.

    .venv/bin/python bench/northbound.py [--outage 60] [--w1-seconds 10]
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402
import yaml  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion  # noqa: E402

from config.loader import parse_plant  # noqa: E402
from edge.model import Quality, Reading, ReadingBlock, TelemetryBatch, now_ms  # noqa: E402
from edge.northbound.encode import telemetry_payload  # noqa: E402
from historian.points import Converter  # noqa: E402
from historian.service import Historian  # noqa: E402
from historian.stores import InfluxStore  # noqa: E402
from tests.northbound.synthetic import plant, write_plant  # noqa: E402
from tests.services.mosquitto import Mosquitto  # noqa: E402
from tests.services.ports import free_port, wait_for  # noqa: E402
from tests.services.victoria import Victoria  # noqa: E402
from uns.sparkplug.sparkplug_b_pb2 import Payload as SparkplugPayload  # noqa: E402
from uns.telemetry import compact_columns  # noqa: E402

DEVICES, TAGS = 10, 500
PATH = "stamping/line1/cell1"


class Counter:
    """A subscriber that counts telemetry values (`"tag"` occurrences) without decoding."""

    def __init__(self, port: int, topic: str) -> None:
        self.values = 0
        self.messages = 0
        self.first_at = 0.0
        self.last_at = 0.0
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"counter-{port}-{time.time()}"
        )
        done = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p=None: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *a: done.set()

        def on_message(c: Any, u: Any, m: Any) -> None:
            now = time.perf_counter()
            if not self.messages:
                self.first_at = now
            self.messages += 1
            self.values += m.payload.count(b'"tag"')
            self.last_at = now

        self.client.on_message = on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        done.wait(10)

    def reset(self) -> None:
        self.values = self.messages = 0

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def make_batches(n: int) -> list[TelemetryBatch]:
    t = now_ms()
    return [
        TelemetryBatch(
            f"press-{i % DEVICES + 1:02d}",
            [Reading(f"t{j}", float(i + j) * 0.5, Quality.GOOD, t, t) for j in range(TAGS)],
        )
        for i in range(n)
    ]


def device_paths() -> dict[str, str]:
    return {f"press-{d + 1:02d}": PATH for d in range(DEVICES)}


# -- 1. publish -------------------------------------------------------------------------------


def bench_publish(broker: Mosquitto, work: Path, n: int, rounds: int) -> tuple[float, float]:
    """Medians over `rounds` alternating runs of the bare loop and the agent's publisher."""
    from config.plant import Broker, Queue
    from edge.northbound.publisher import Northbound
    from uns.topics import Namespace

    ns = Namespace("acme", "plant1")
    batches = make_batches(n)
    total = n * TAGS
    counter = Counter(broker.port, f"{ns.root}/+/+/+/+/_telemetry")

    def bare_loop() -> float:
        """A bare paho QoS 1 loop that encodes each batch (the same JSON) and publishes it."""
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="bare", protocol=MQTTProtocolVersion.MQTTv5
        )
        client.max_inflight_messages_set(64)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        counter.reset()
        t0 = time.perf_counter()
        infos = [
            client.publish(ns.telemetry(PATH, b.device), telemetry_payload("edge-b", b, i), qos=1)
            for i, b in enumerate(batches)
        ]
        for info in infos:
            info.wait_for_publish(30)
        wait_for(lambda: counter.values >= total, 60, "bare values at the subscriber")
        rate = total / (time.perf_counter() - t0)
        client.disconnect()
        client.loop_stop()
        return rate

    def agent_publisher(r: int) -> float:
        """put() -> encode + seq -> SQLite queue -> publish -> PUBACK -> delete."""
        nb = Northbound(
            Broker(url=broker.url),
            ns,
            "edge-b",
            device_paths(),
            # the whole burst is put at once: nothing may be dropped for waiting on the disk
            Queue(path=str(work / f"publish-q-{r}.sqlite"), max_pending_values=total),
            MQTTProtocolVersion.MQTTv5,
        )
        nb.start()
        wait_for(lambda: nb.stats.connected, 10, "publisher connected")
        counter.reset()
        t0 = time.perf_counter()
        for b in batches:
            nb.put(b)
        wait_for(lambda: counter.values >= total, 60, "agent values at the subscriber")
        rate = total / (time.perf_counter() - t0)
        nb.stop()
        return rate

    bare, ours = [], []
    for r in range(rounds):
        bare.append(bare_loop())
        ours.append(agent_publisher(r))
    counter.close()
    return statistics.median(ours), statistics.median(bare)


# -- 2. W1 ----------------------------------------------------------------------------------


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def modbus_w1_files(
    broker: Mosquitto, d: Path, poll_ms: int, payload: str = "uns_json"
) -> tuple[Path, Path]:
    """10 simulated presses with 1,000 extra holding registers each (changing every
    `poll_ms / 2`), and a plant with 10 Modbus TCP devices x 500 float32 tags on them."""
    ports = [free_port() for _ in range(DEVICES)]
    sims = {
        "version": 1,
        "machines": [
            {
                "kind": "modbus",
                "name": f"press-{i + 1:02d}",
                "port": port,
                "update_interval_ms": max(10, poll_ms // 2),
                "extra_registers": 2 * TAGS,
            }
            for i, port in enumerate(ports)
        ],
    }
    data = plant(broker.url, d, devices=DEVICES, tags=TAGS, poll_ms=poll_ms)
    data["edge"]["payloads"] = [payload]
    for dev, port in zip(data["devices"], ports, strict=True):
        dev["connection"]["port"] = port
        dev["tags"] = [
            {"name": f"t{i}", "address": 100 + 2 * i, "type": "float32"} for i in range(TAGS)
        ]
    sim_file = d / "sims.yaml"
    sim_file.write_text(yaml.safe_dump(sims))
    return write_plant(d / "plant.yaml", data), sim_file


def bench_w1(
    broker: Mosquitto,
    work: Path,
    poll_ms: int,
    seconds: float,
    source: str,
    payload: str = "uns_json",
) -> dict[str, float]:
    d = work / f"w1-{source}-{poll_ms}-{payload}"
    d.mkdir()
    procs: list[subprocess.Popen[bytes]] = []
    shopfloor = str(Path(sys.executable).parent / "shopfloor")
    if source == "modbus":
        cfg, sim_file = modbus_w1_files(broker, d, poll_ms, payload)
        procs.append(
            subprocess.Popen(
                [shopfloor, "sim", "run", "-c", str(sim_file)],
                stdout=subprocess.DEVNULL,
                stderr=(d / "sim.log").open("wb"),
            )
        )
        agent_cmd = [shopfloor, "edge", "run", "-c", str(cfg)]
    else:
        data = plant(broker.url, d, devices=DEVICES, tags=TAGS, poll_ms=poll_ms)
        cfg = write_plant(d / "plant.yaml", data)
        agent_cmd = [sys.executable, "-m", "tests.northbound.synthetic", str(cfg)]
    counter = DecodingConsumer(broker.port, "uns/v1/acme/plant1")
    proc = subprocess.Popen(
        agent_cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=(d / "agent.log").open("wb")
    )
    procs.append(proc)
    try:
        wait_for(lambda: counter.read()[0] > 0, 30, "W1 telemetry")
        warm_until = time.monotonic() + 3
        wait_for(lambda: time.monotonic() >= warm_until, 5, "warm-up")
        hz = os.sysconf("SC_CLK_TCK")
        c0, v0, t0 = _cpu_ticks(proc.pid), counter.read()[0], time.perf_counter()
        end = time.monotonic() + seconds
        wait_for(lambda: time.monotonic() >= end, seconds + 5, "measurement window")
        c1, v1, t1 = _cpu_ticks(proc.pid), counter.read()[0], time.perf_counter()
        rss = _rss_mb(proc.pid)
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        counter.close()
    return {
        "cpu_percent": 100 * (c1 - c0) / hz / (t1 - t0),
        "rss_mb": rss,
        "delivered_per_s": (v1 - v0) / (t1 - t0),
        "offered_per_s": DEVICES * TAGS * 1000 / poll_ms,
    }


# -- 2b. W1, every value changes at every poll (issue 17) --------------------------------------


def _decode_json(payload: bytes) -> int:
    """What a consumer of per-value JSON does: decode, then read every value's fields."""
    n = 0
    for v in orjson.loads(payload)["values"]:
        tag, value, quality, ts = v["tag"], v["value"], v["quality"], v["ts"]  # noqa: F841
        n += 1
    return n


def _decode_compact(payload: bytes) -> int:
    """The same for the compact form: decode, expand the time runs, read every value (its
    quality is `good` unless a mark says otherwise)."""
    c = compact_columns(orjson.loads(payload))
    n = 0
    if c.marks:
        for i, (tag, value, ts) in enumerate(zip(c.tags, c.values, c.times, strict=True)):  # noqa: B007
            quality = c.marks[i]["quality"] if i in c.marks else "good"  # noqa: F841
            n += 1
        return n
    for tag, value, ts in zip(c.tags, c.values, c.times, strict=True):  # noqa: B007
        n += 1
    return n


def _decode_sparkplug(payload: bytes) -> int:
    """The same for Sparkplug B DDATA: parse the protobuf, read every metric's alias, time and
    value (a host then maps aliases to the names of the birth)."""
    p = SparkplugPayload()
    p.ParseFromString(payload)
    n = 0
    for m in p.metrics:
        alias, ts, value = m.alias, m.timestamp, getattr(m, m.WhichOneof("value") or "is_null")  # noqa: F841
        n += 1
    return n


#: payload kind -> (topic filter below `{root}`, or absolute for Sparkplug; consumer decode)
CONSUMERS: dict[str, tuple[str, Any]] = {
    "uns_json": ("{root}/+/+/+/+/_telemetry", _decode_json),
    "uns_compact": ("{root}/+/+/+/+/_telemetry/compact", _decode_compact),
    "sparkplug_b": ("spBv1.0/+/DDATA/+/+", _decode_sparkplug),
}


def _kind(topic: str) -> str:
    if topic.startswith("spBv1.0/"):
        return "sparkplug_b"
    return "uns_compact" if topic.endswith("/compact") else "uns_json"


class DecodingConsumer:
    """A subscriber that decodes every telemetry message as a consumer would, counting values
    and the CPU time its thread spent decoding (`time.thread_time`, so other load does not
    count)."""

    def __init__(self, port: int, root: str) -> None:
        self.values = 0
        self.decode_s = 0.0
        self.lock = threading.Lock()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"decoder-{port}-{time.time()}"
        )
        done = threading.Event()
        filters = [(f.format(root=root), 1) for f, _ in CONSUMERS.values()]
        self.client.on_connect = lambda c, u, f, rc, p=None: c.subscribe(filters)
        self.client.on_subscribe = lambda *a: done.set()
        decoders = {kind: fn for kind, (_, fn) in CONSUMERS.items()}

        def on_message(c: Any, u: Any, m: Any) -> None:
            t0 = time.thread_time()
            n = decoders[_kind(m.topic)](m.payload)
            dt = time.thread_time() - t0
            with self.lock:
                self.values += n
                self.decode_s += dt

        self.client.on_message = on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        done.wait(10)

    def read(self) -> tuple[int, float]:
        with self.lock:
            return self.values, self.decode_s

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def bench_w1_change(
    broker: Mosquitto, work: Path, poll_ms: int, seconds: float, payload: str, mode: str
) -> dict[str, float]:
    """One run of bench/w1_agent.py (`agent` or `bare`) publishing `payload`: its CPU per value
    delivered, values/s delivered to a decoding consumer, and that consumer's decode CPU."""
    d = work / f"w1c-{payload}-{poll_ms}-{mode}"
    d.mkdir()
    data = plant(broker.url, d, devices=DEVICES, tags=TAGS, poll_ms=poll_ms)
    data["edge"]["payloads"] = [payload]
    for dev in data["devices"]:
        dev["tags"] = [
            {"name": f"t{i}", "address": 100 + 2 * i, "type": "float32"} for i in range(TAGS)
        ]
    cfg = write_plant(d / "plant.yaml", data)
    consumer = DecodingConsumer(broker.port, "uns/v1/acme/plant1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.w1_agent", mode, str(cfg)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=(d / "agent.log").open("wb"),
    )
    try:
        wait_for(lambda: consumer.read()[0] > 0, 30, "W1-change telemetry")
        warm_until = time.monotonic() + 3
        wait_for(lambda: time.monotonic() >= warm_until, 5, "warm-up")
        hz = os.sysconf("SC_CLK_TCK")
        (v0, s0), c0, t0 = consumer.read(), _cpu_ticks(proc.pid), time.perf_counter()
        end = time.monotonic() + seconds
        wait_for(lambda: time.monotonic() >= end, seconds + 5, "measurement window")
        (v1, s1), c1, t1 = consumer.read(), _cpu_ticks(proc.pid), time.perf_counter()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        consumer.close()
    values = max(1, v1 - v0)
    return {
        "delivered_per_s": (v1 - v0) / (t1 - t0),
        "offered_per_s": DEVICES * TAGS * 1000 / poll_ms,
        "cpu_us_per_value": 1e6 * (c1 - c0) / hz / values,
        "cpu_percent": 100 * (c1 - c0) / hz / (t1 - t0),
        "consumer_us_per_value": 1e6 * (s1 - s0) / values,
    }


def micro_value_path(polls: int = 400) -> dict[str, float]:
    """CPU per value of decode + pipeline + encode in this process, for one device of 500
    float32 (4 Modbus reads of 125 registers) whose every value changes at every poll:
    the per-value path (a `Reading` per value, each processed, per-value JSON) against the
    block path (`ReadingBlock` columns, `process_block`) with each payload; and a bare loop
    that only unpacks the blocks and serialises the values (the floor)."""
    import struct as _struct

    from bench.w1_agent import CYCLE, registers
    from edge.drivers.modbus.driver import compile_read, decode_block
    from edge.drivers.modbus.planner import plan_reads
    from edge.northbound.encode import compact_payload
    from edge.pipeline.device import DevicePipeline

    data = plant("mqtt://127.0.0.1:1", work_dir := Path(tempfile.mkdtemp()), devices=1, tags=TAGS)
    data["devices"][0]["tags"] = [
        {"name": f"t{i}", "address": 100 + 2 * i, "type": "float32"} for i in range(TAGS)
    ]
    dev = parse_plant(data).devices[0]
    reads = [compile_read(r) for r in plan_reads(dev.tags, dev.limits, dev.addressing)]
    blocks = []
    for k in range(CYCLE):
        regs = registers(TAGS, k)
        blocks.append(
            [
                regs[r.request.address - 100 : r.request.address - 100 + r.request.count]
                for r in reads
            ]
        )

    class Sink:
        def __init__(self, encode: Any) -> None:
            self.encode = encode
            self.bytes = 0

        def put(self, batch: TelemetryBatch) -> None:
            self.bytes += len(self.encode("edge", batch, 1))

    def per_value() -> float:
        pipe = DevicePipeline(dev, Sink(telemetry_payload), lambda *a: None)
        t0 = time.process_time()
        for k in range(polls):
            out: list[Reading] = []
            for rd, regs in zip(reads, blocks[k % CYCLE], strict=True):
                decode_block(rd, regs, k, out)
            pipe.readings(out)
        return time.process_time() - t0

    def block_path(encode: Any) -> float:
        pipe = DevicePipeline(dev, Sink(encode), lambda *a: None)
        t0 = time.process_time()
        for k in range(polls):
            out: list[Reading] = []
            bks: list[ReadingBlock] = []
            for rd, regs in zip(reads, blocks[k % CYCLE], strict=True):
                decode_block(rd, regs, k, out, bks)
            pipe.poll(bks, out)
        return time.process_time() - t0

    unpackers = [_struct.Struct(f">{r.request.count // 2}f") for r in reads]

    def bare() -> float:
        t0 = time.process_time()
        for k in range(polls):
            values: list[float] = []
            for u, regs in zip(unpackers, blocks[k % CYCLE], strict=True):
                values.extend(u.unpack(_struct.pack(f">{len(regs)}H", *regs)))
            orjson.dumps({"values": values, "ts": k})
        return time.process_time() - t0

    # one poll's message in each form, for the consumer side
    last: list[TelemetryBatch] = []

    class Keep:
        def put(self, batch: TelemetryBatch) -> None:
            last.append(batch)

    keep = DevicePipeline(dev, Keep(), lambda *a: None)
    for k in range(2):
        out0: list[Reading] = []
        bks0: list[ReadingBlock] = []
        for rd, regs in zip(reads, blocks[k], strict=True):
            decode_block(rd, regs, k, out0, bks0)
        keep.poll(bks0, out0)
    as_json = telemetry_payload("edge", last[-1], 1)
    as_compact = compact_payload("edge", last[-1], 1)

    def consume(decode: Any, payload: bytes) -> float:
        t0 = time.process_time()
        for _ in range(polls):
            decode(payload)
        return time.process_time() - t0

    runs: dict[str, list[float]] = {
        "bare": [],
        "per_value": [],
        "block_json": [],
        "block_compact": [],
        "consumer_json": [],
        "consumer_compact": [],
        "historian_json": [],
        "historian_compact": [],
    }
    conv = Converter()
    json_topic = f"uns/v1/acme/plant1/{PATH}/press-01/_telemetry"
    for _ in range(3):  # alternating, best of 3: the least disturbed by other load
        runs["bare"].append(bare())
        runs["per_value"].append(per_value())
        runs["block_json"].append(block_path(telemetry_payload))
        runs["block_compact"].append(block_path(compact_payload))
        runs["consumer_json"].append(consume(_decode_json, as_json))
        runs["consumer_compact"].append(consume(_decode_compact, as_compact))
        runs["historian_json"].append(consume(lambda p: conv.encode(json_topic, p), as_json))
        runs["historian_compact"].append(
            consume(lambda p: conv.encode(json_topic + "/compact", p), as_compact)
        )
    work_dir.rmdir() if not any(work_dir.iterdir()) else None
    return {k: 1e6 * min(v) / (polls * TAGS) for k, v in runs.items()}


# -- 3. historian -----------------------------------------------------------------------------


class _TimedStore:
    """The historian's real store, noting when its last write returned (exact end time)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.last_write_done = 0.0

    def write(self, body: bytes, points: Any) -> None:
        self.inner.write(body, points)
        self.last_write_done = time.perf_counter()

    def close(self) -> None:
        self.inner.close()


class _NoStore:
    """Accepts every write at once: what the historian itself costs, without a server."""

    def write(self, body: bytes, points: Any) -> None:
        pass

    def close(self) -> None:
        pass


def _publish(broker: Mosquitto, payloads: list[tuple[str, bytes]]) -> None:
    """QoS 1 messages queued by the broker for the (stopped) historian's persistent session."""
    pub = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="bench-pub", protocol=MQTTProtocolVersion.MQTTv5
    )
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    for info in [pub.publish(t, p, qos=1) for t, p in payloads]:
        info.wait_for_publish(60)
    pub.disconnect()
    pub.loop_stop()


def bench_historian_cpu(broker: Mosquitto, work: Path, n: int, rounds: int) -> list[float]:
    """CPU of this process per point (us) while the historian drains `n` queued messages of
    500 values into a store that costs nothing: receive, convert, batch and acknowledge."""
    batches = make_batches(n)
    payloads = [
        (f"uns/v1/acme/plant1/{PATH}/{b.device}/_telemetry", telemetry_payload("edge-b", b, i))
        for i, b in enumerate(batches)
    ]
    total = n * TAGS
    data = plant(broker.url, work, devices=0)
    data["historian"] = {"batch_size": 5000, "client_id": "bench-cpu", "share_group": "bench-cpu"}
    cfg = parse_plant(data)
    hist = Historian(cfg, MQTTProtocolVersion.MQTTv5, store=_NoStore())  # the session
    hist.start()
    wait_for(lambda: hist.stats.subscribed, 10, "historian subscribed")
    hist.stop()
    out = []
    for _ in range(rounds):
        _publish(broker, payloads)
        running = Historian(cfg, MQTTProtocolVersion.MQTTv5, store=_NoStore())

        def drained(h: Historian = running) -> bool:
            return h.stats.messages_acked >= n

        c0 = time.process_time()
        running.start()
        wait_for(drained, 120, "historian drained")
        out.append((time.process_time() - c0) * 1e6 / total)
        running.stop()
    return out


def bench_historian(
    broker: Mosquitto, vm: Victoria, work: Path, n: int, rounds: int
) -> tuple[float, float]:
    """Medians over `rounds` alternating runs (the machine is shared: single runs are noisy)."""
    from influxdb_client import InfluxDBClient, WritePrecision
    from influxdb_client.client.write_api import SYNCHRONOUS

    batches = make_batches(n)
    topic_of = {b.device: f"uns/v1/acme/plant1/{PATH}/{b.device}/_telemetry" for b in batches}
    payloads = [
        (topic_of[b.device], telemetry_payload("edge-b", b, i)) for i, b in enumerate(batches)
    ]
    total = n * TAGS
    batch_size = 5000
    conv = Converter()
    lines = [ln for t, p in payloads for ln in conv.lines(t, p)]
    # the bare loop's best form: request bodies built beforehand, as bytes, nothing per request
    bodies = [
        "\n".join(lines[i : i + batch_size]).encode() for i in range(0, len(lines), batch_size)
    ]
    data = plant(broker.url, work, devices=0)
    data["historian"] = {
        "url": vm.url,
        "batch_size": batch_size,
        "client_id": "bench-hist",
        "share_group": "bench",
    }
    cfg = parse_plant(data)
    hist = Historian(cfg, MQTTProtocolVersion.MQTTv5)  # creates the persistent session
    hist.start()
    wait_for(lambda: hist.stats.subscribed, 10, "historian subscribed")
    hist.stop()

    assert vm.proc is not None
    hz = os.sysconf("SC_CLK_TCK")
    cpu: dict[str, list[tuple[float, float]]] = {"bare": [], "ours": []}  # (this process, VM)

    def cpu_now() -> tuple[float, float]:
        assert vm.proc is not None
        return time.process_time(), _cpu_ticks(vm.proc.pid) / hz

    def bare_loop() -> float:
        """The same points as line protocol, written by a bare influxdb-client loop: same
        batch size, precision and endpoint, one keep-alive connection, bodies pre-built."""
        client = InfluxDBClient(url=vm.url, token="", org="o")
        api = client.write_api(write_options=SYNCHRONOUS)
        c0 = cpu_now()
        t0 = time.perf_counter()
        for body in bodies:
            api.write("b", "o", record=body, write_precision=WritePrecision.MS)
        rate = total / (time.perf_counter() - t0)
        c1 = cpu_now()
        cpu["bare"].append((c1[0] - c0[0], c1[1] - c0[1]))
        client.close()
        return rate

    def historian() -> float:
        """Messages queued for the historian's session, then drained by it into the store."""
        _publish(broker, payloads)
        h = cfg.historian
        store = _TimedStore(InfluxStore(vm.url, None, h.org, h.bucket))
        hist = Historian(cfg, MQTTProtocolVersion.MQTTv5, store=store)
        c0 = cpu_now()
        t0 = time.perf_counter()
        hist.start()
        wait_for(lambda: hist.stats.points_written >= total, 120, "historian drained")
        rate = total / (store.last_write_done - t0)  # not the polling delay of wait_for
        c1 = cpu_now()
        cpu["ours"].append((c1[0] - c0[0], c1[1] - c0[1]))
        hist.stop()
        return rate

    bare, ours = [], []
    for _ in range(rounds):
        bare.append(bare_loop())
        ours.append(historian())
    pairs = [o / b for o, b in zip(ours, bare, strict=True)]
    print(
        "historian rounds (points/s, ours/bare = ratio): "
        + ", ".join(f"{o:,.0f}/{b:,.0f} = {o / b:.2f}" for o, b in zip(ours, bare, strict=True))
        + f"; median of the paired ratios {statistics.median(pairs):.2f}",
        flush=True,
    )
    per = 1e6 / total  # CPU-s per round -> CPU-us per point
    print(
        "historian CPU per point (medians; client = this process: the bare loop, or the "
        "historian's receive + convert + write + ack): "
        f"bare client {statistics.median(c for c, _ in cpu['bare']) * per:.2f} us + "
        f"VictoriaMetrics {statistics.median(v for _, v in cpu['bare']) * per:.2f} us; "
        f"historian {statistics.median(c for c, _ in cpu['ours']) * per:.2f} us + "
        f"VictoriaMetrics {statistics.median(v for _, v in cpu['ours']) * per:.2f} us",
        flush=True,
    )
    return statistics.median(ours), statistics.median(bare)


def bench_historian_processes(
    broker: Mosquitto, vm: Victoria, work: Path, n: int, procs: int
) -> float:
    """`procs` historian processes in one share group drain messages queued for them."""
    import urllib.request

    batches = make_batches(n)
    payloads = [
        (f"uns/v1/acme/plant1/{PATH}/{b.device}/_telemetry", telemetry_payload("edge-b", b, i))
        for i, b in enumerate(batches)
    ]
    total = n * TAGS
    shopfloor = str(Path(sys.executable).parent / "shopfloor")
    ports = [free_port() for _ in range(procs)]
    files = []
    for i, port in enumerate(ports):
        data = plant(broker.url, work, devices=0)
        data["historian"] = {
            "url": vm.url,
            "client_id": f"bench-hp-{i}",
            "share_group": "bench-procs",
            "metrics_port": port,
        }
        files.append(write_plant(work / f"hist-{i}.yaml", data))

    def metric(port: int, name: str) -> float:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                for line in r.read().decode().splitlines():
                    if line.startswith(name + " "):
                        return float(line.split()[1])
        except OSError:
            pass
        return 0.0

    def start() -> list[subprocess.Popen[bytes]]:
        out = [
            subprocess.Popen(
                [shopfloor, "historian", "run", "-c", str(f)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for f in files
        ]
        for port in ports:
            wait_for(lambda p=port: metric(p, "shopfloor_historian_subscribed") == 1, 60, "up")
        return out

    def stop(running: list[subprocess.Popen[bytes]]) -> None:
        for p in running:
            p.send_signal(signal.SIGTERM)
        for p in running:
            p.wait(30)

    stop(start())  # the sessions now exist: the broker queues their shares
    pub = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="bench-pub2", protocol=MQTTProtocolVersion.MQTTv5
    )
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    for info in [pub.publish(t, p, qos=1) for t, p in payloads]:
        info.wait_for_publish(60)
    pub.disconnect()
    pub.loop_stop()
    running = start()

    def written() -> float:
        return sum(metric(p, "shopfloor_historian_points_written_total") for p in ports)

    try:
        first = 0.0
        wait_for(lambda: written() > 0, 30, "first points")
        t0, first = time.perf_counter(), written()
        wait_for(lambda: written() >= total, 120, "all points")
        rate = (total - first) / (time.perf_counter() - t0)
    finally:
        stop(running)
    return rate


# -- 4. replay --------------------------------------------------------------------------------


def bench_replay(work: Path, outage_s: float) -> dict[str, float]:
    from config.plant import Broker, Queue
    from edge.northbound.publisher import Northbound
    from uns.topics import Namespace

    broker = Mosquitto(work / "replay-broker").start()
    ns = Namespace("acme", "plant1")
    counter = Counter(broker.port, f"{ns.root}/+/+/+/+/_telemetry")
    nb = Northbound(
        Broker(url=broker.url),
        ns,
        "edge-r",
        device_paths(),
        Queue(path=str(work / "replay-q.sqlite")),
        MQTTProtocolVersion.MQTTv5,
    )
    nb.start()
    template = make_batches(DEVICES)
    halt = threading.Event()

    def live() -> None:  # 10 devices x 500 values every 100 ms: 50,000 values/s
        while not halt.wait(0.1):
            t = now_ms()
            for b in template:
                nb.put(
                    TelemetryBatch(
                        b.device, [Reading(r.tag, r.value, r.quality, t, t) for r in b.readings]
                    )
                )

    thread = threading.Thread(target=live, daemon=True)
    thread.start()
    wait_for(lambda: counter.values > 0, 10, "live flow")
    broker.kill()
    end = time.monotonic() + outage_s
    wait_for(lambda: time.monotonic() >= end, outage_s + 5, "outage")
    backlog_values = nb.stats.values_enqueued - nb.stats.values_published
    backlog_msgs = nb.stats.queue_depth
    broker.start()
    t0 = time.perf_counter()
    wait_for(lambda: nb.stats.reconnects >= 1, 30, "reconnect")
    t_conn = time.perf_counter()
    wait_for(lambda: nb.stats.queue_depth <= DEVICES, 600, "backlog replayed")
    t1 = time.perf_counter()
    halt.set()
    thread.join()
    live_during = 50_000 * (t1 - t_conn)
    nb.stop()
    counter.close()
    broker.stop()
    return {
        "backlog_values": backlog_values,
        "backlog_messages": backlog_msgs,
        "reconnect_s": t_conn - t0,
        "drain_s": t1 - t_conn,
        "replay_per_s": backlog_values / (t1 - t_conn),
        "total_per_s": (backlog_values + live_during) / (t1 - t_conn),
    }


def w1_change(broker: Mosquitto, work: Path, seconds: float, payloads: list[str]) -> None:
    """W1 with every value changing at every poll, per payload and poll: the agent against the
    bare loop publishing the same messages, and the consumer's decode per payload."""
    unknown = [p for p in payloads if p not in CONSUMERS]
    if unknown:
        raise SystemExit(f"no consumer decoder for {unknown}: add it to CONSUMERS")
    consumer: dict[str, float] = {}
    for poll in (20, 10):
        for payload in payloads:
            bare = bench_w1_change(broker, work, poll, seconds, payload, "bare")
            ours = bench_w1_change(broker, work, poll, seconds, payload, "agent")
            consumer.setdefault(payload, ours["consumer_us_per_value"])
            print(
                f"W1-change {poll} ms poll, {payload} (10x500 float32, every value changing, "
                f"{ours['offered_per_s']:,.0f} values/s offered): delivered "
                f"{ours['delivered_per_s']:,.0f} values/s vs bare loop "
                f"{bare['delivered_per_s']:,.0f} (ratio "
                f"{ours['delivered_per_s'] / bare['delivered_per_s']:.2f}); agent CPU "
                f"{ours['cpu_us_per_value']:.2f} us/value ({ours['cpu_percent']:.0f}% of a core) "
                f"vs bare {bare['cpu_us_per_value']:.2f} us/value (ratio "
                f"{ours['cpu_us_per_value'] / max(bare['cpu_us_per_value'], 1e-9):.1f}); consumer "
                f"decode {ours['consumer_us_per_value']:.3f} us/value (bare run "
                f"{bare['consumer_us_per_value']:.3f})",
                flush=True,
            )
    if "uns_json" in consumer:
        base = consumer["uns_json"]
        print(
            "consumer decode per value, ratio to per-value JSON (20 ms runs): "
            + ", ".join(f"{p} {us / base:.2f}" for p, us in consumer.items()),
            flush=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--outage", type=float, default=60.0, help="broker outage for the replay, s")
    ap.add_argument("--w1-seconds", type=float, default=10.0)
    ap.add_argument("--w1-source", choices=["modbus", "synthetic"], default="modbus")
    ap.add_argument("--w1-payload", choices=list(CONSUMERS), default="uns_json")
    ap.add_argument("--batches", type=int, default=2000, help="batches of 500 values")
    ap.add_argument("--parts", default="publish,w1,historian,replay")
    ap.add_argument("--rounds", type=int, default=3, help="alternating runs, medians reported")
    ap.add_argument(
        "--payloads",
        default="uns_json,uns_compact,sparkplug_b",
        help="payloads of the w1-change part",
    )
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        broker = Mosquitto(work / "broker").start()
        vm: Victoria | None = None
        try:
            vm = Victoria(work / "vm").start()
            if "publish" in parts:
                ours, bare = bench_publish(broker, work, args.batches, args.rounds)
                print(
                    f"publish (median of {args.rounds}): agent queue -> broker -> subscriber "
                    f"{ours:,.0f} values/s; "
                    f"bare paho encode+publish loop {bare:,.0f} values/s; ratio {ours / bare:.2f}",
                    flush=True,
                )
            if "w1" in parts:
                for poll in (100, 20):
                    w = bench_w1(
                        broker, work, poll, args.w1_seconds, args.w1_source, args.w1_payload
                    )
                    source = (
                        "Modbus simulator, real driver"
                        if args.w1_source == "modbus"
                        else "synthetic devices"
                    )
                    print(
                        f"W1 {poll} ms poll ({source}, {args.w1_payload}, 10x500 float32, "
                        f"{w['offered_per_s']:,.0f} values/s offered): delivered "
                        f"{w['delivered_per_s']:,.0f} values/s; agent CPU "
                        f"{w['cpu_percent']:.1f}% of one core; RSS {w['rss_mb']:.0f} MB",
                        flush=True,
                    )
            if "micro" in parts:
                m = micro_value_path()
                print(
                    "value path, decode + pipeline + encode, every value changing (best of 3, "
                    f"us per value): bare unpack+dumps {m['bare']:.3f}; per-value path "
                    f"{m['per_value']:.3f} ({m['per_value'] / m['bare']:.1f}x bare); block path "
                    f"+ per-value JSON {m['block_json']:.3f} ({m['block_json'] / m['bare']:.1f}x; "
                    f"{m['block_json'] / m['per_value']:.2f} of the per-value path); block path "
                    f"+ compact {m['block_compact']:.3f} ({m['block_compact'] / m['bare']:.1f}x; "
                    f"{m['block_compact'] / m['per_value']:.2f} of the per-value path)",
                    flush=True,
                )
                print(
                    "consumer decode (orjson.loads + reading every value, one 500-value poll, "
                    f"best of 3, us per value): per-value JSON {m['consumer_json']:.3f}; compact "
                    f"{m['consumer_compact']:.3f} (ratio "
                    f"{m['consumer_compact'] / m['consumer_json']:.2f})",
                    flush=True,
                )
                print(
                    "historian conversion to line protocol (the same message, fast paths): "
                    f"per-value JSON {m['historian_json']:.3f} us per value; compact "
                    f"{m['historian_compact']:.3f} (ratio "
                    f"{m['historian_compact'] / m['historian_json']:.2f})",
                    flush=True,
                )
            if "w1-change" in parts:
                w1_change(broker, work, args.w1_seconds, args.payloads.split(","))
            if "historian" in parts:
                ours, bare = bench_historian(broker, vm, work, args.batches // 2, args.rounds)
                print(
                    f"historian (median of {args.rounds}): MQTT -> historian -> VictoriaMetrics "
                    f"{ours:,.0f} points/s; "
                    f"bare influxdb-client line-protocol loop {bare:,.0f} points/s; "
                    f"ratio {ours / bare:.2f}",
                    flush=True,
                )
            if "historian-cpu" in parts:
                us = bench_historian_cpu(broker, work, args.batches // 2, args.rounds)
                print(
                    f"historian alone (no-op store), CPU of its process per point: median "
                    f"{statistics.median(us):.2f} us (rounds: "
                    + ", ".join(f"{u:.2f}" for u in us)
                    + ")",
                    flush=True,
                )
            if "historian-procs" in parts:
                rate = bench_historian_processes(broker, vm, work, args.batches, 2)
                print(
                    f"historian, 2 processes in one share group: {rate:,.0f} points/s "
                    "(messages queued beforehand; rate from the first to the last point)",
                    flush=True,
                )
            if "replay" in parts:
                r = bench_replay(work, args.outage)
                print(
                    f"replay after a {args.outage:.0f} s outage: {r['backlog_values']:,.0f} "
                    f"values ({r['backlog_messages']:,} messages) replayed in "
                    f"{r['drain_s']:.1f} s = {r['replay_per_s']:,.0f} values/s of backlog while "
                    f"50,000 values/s live flowed ({r['total_per_s']:,.0f} values/s in all); "
                    f"reconnect took {r['reconnect_s']:.1f} s",
                    flush=True,
                )
        finally:
            broker.stop()
            if vm is not None:
                vm.stop()


if __name__ == "__main__":
    main()
