"""The processes of the W1 "every value changes at every poll" bench (bench/northbound.py
`--parts w1-change`), one per run:

    python -m bench.w1_agent agent PLANT.yaml   # the real agent, Modbus blocks without the wire
    python -m bench.w1_agent bare PLANT.yaml    # the baseline: pre-encoded payloads, bare paho

`agent`: the production path from the Modbus driver's block decoder on: each device's reads are
planned and compiled by the real driver code and, at every poll, the registers of a precomputed
poll (16 of them in turn, so every value differs from the previous poll's) go through
`decode_block` into the real `DevicePipeline`, the durable queue and QoS 1, in the payloads of
`edge.payloads`. Only the TCP exchange with a device is left out (bench/edge_acquisition.py
measures that part).

`bare`: the same messages, encoded beforehand, published by a bare paho QoS 1 loop at the same
fixed rate: what MQTT alone costs the process.
"""

import asyncio
import signal
import struct
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from config.loader import load_plant  # noqa: E402
from edge.agent import EdgeAgent  # noqa: E402
from edge.drivers.base import DriverHost  # noqa: E402
from edge.drivers.modbus.driver import compile_read, decode_block  # noqa: E402
from edge.drivers.modbus.planner import plan_reads  # noqa: E402
from edge.model import Reading, ReadingBlock, TelemetryBatch, Value, now_ms  # noqa: E402

CYCLE = 16  # distinct polls; consecutive ones differ in every value


def registers(tags: int, k: int) -> list[int]:
    """The holding registers 100.. of poll `k`: float32 value k * tags + i + 0.5 at tag i."""
    floats = [k * tags + i + 0.5 for i in range(tags)]
    return list(struct.unpack(f">{2 * tags}H", struct.pack(f">{tags}f", *floats)))


class BlockDevice:
    """A Modbus device without the wire: the real planner, compiled reads and block decoder."""

    def __init__(self, cfg: Any, state_dir: Path) -> None:
        self.cfg = cfg
        self.reads = [compile_read(r) for r in plan_reads(cfg.tags, cfg.limits, cfg.addressing)]
        first = min(t.address for t in cfg.tags)
        polls = [registers(len(cfg.tags), k) for k in range(CYCLE)]
        self.polls = [
            [
                regs[r.request.address - first : r.request.address - first + r.request.count]
                for r in self.reads
            ]
            for regs in polls
        ]
        self.overruns = 0

    async def run(self, host: DriverHost) -> None:
        host.status("connected")
        period = self.cfg.poll_interval_ms / 1000
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        n = 0
        while True:
            data = self.polls[n % CYCLE]
            out: list[Reading] = []
            blocks: list[ReadingBlock] = []
            for rd, regs in zip(self.reads, data, strict=True):
                decode_block(rd, regs, now_ms(), out, blocks)
            host.poll(blocks, out)
            n += 1
            next_at += period
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    async def write(self, tag: str, value: Value) -> None:
        raise NotImplementedError


def run_agent(plant: Path) -> None:
    cfg = load_plant(plant)

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await EdgeAgent(cfg, driver_factory=BlockDevice).run(stop)

    asyncio.run(main())


def run_bare(plant: Path) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    from edge.northbound.encode import compact_payload, telemetry_payload
    from edge.sparkplug.metrics import alias_table
    from uns.sparkplug.payload import Metric, Payload, encode
    from uns.sparkplug.settings import group_of, node_of
    from uns.sparkplug.topics import device_topic
    from uns.sparkplug.types import DataType
    from uns.topics import Namespace

    cfg = load_plant(plant)
    ns = Namespace(cfg.plant.enterprise, cfg.plant.site)
    group, node = group_of(cfg), node_of(cfg)
    aliases = {d.device: d for d in alias_table(cfg.devices)}
    messages: list[list[tuple[str, bytes]]] = []
    for k in range(CYCLE):
        poll = []
        for dev in cfg.devices:
            t = now_ms()
            values = [k * len(dev.tags) + i + 0.5 for i in range(len(dev.tags))]
            tags = tuple(t.name for t in dev.tags)
            block = ReadingBlock(tags, values, t, (None,) * len(tags))
            batch = TelemetryBatch(dev.name, [], t, [block])
            for kind in cfg.edge.payloads:
                if kind == "uns_compact":
                    topic = ns.telemetry_compact(dev.path, dev.name)
                    poll.append((topic, compact_payload("bare", batch, k)))
                elif kind == "sparkplug_b":  # DDATA by alias: every value changed
                    defs = aliases[dev.name].tags
                    metrics = [
                        Metric(None, defs[tag].alias, DataType.FLOAT, value, t)
                        for tag, value in zip(tags, values, strict=True)
                    ]
                    topic = device_topic(group, "DDATA", node, dev.name)
                    poll.append((topic, encode(Payload(t, metrics, k % 256))))
                else:
                    poll.append(
                        (ns.telemetry(dev.path, dev.name), telemetry_payload("bare", batch, k))
                    )
        messages.append(poll)
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="w1-bare", protocol=MQTTProtocolVersion.MQTTv5
    )
    client.max_inflight_messages_set(64)
    url = cfg.broker.url.rsplit(":", 1)
    client.connect("127.0.0.1", int(url[1]))
    client.loop_start()
    stopping = []
    signal.signal(signal.SIGTERM, lambda *a: stopping.append(1))
    period = cfg.devices[0].poll_interval_ms / 1000
    next_at = time.monotonic()
    n = 0
    while not stopping:
        for topic, payload in messages[n % CYCLE]:
            client.publish(topic, payload, qos=1)
        n += 1
        next_at += period
        time.sleep(max(0.0, next_at - time.monotonic()))
    client.disconnect()
    client.loop_stop()


if __name__ == "__main__":
    mode, plant_file = sys.argv[1], Path(sys.argv[2])
    (run_agent if mode == "agent" else run_bare)(plant_file)
