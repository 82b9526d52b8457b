"""Sparkplug B codec cost per value (issue 17), each figure with the UNS JSON figure of the
same run as its baseline: the edge node's DDATA (exception check, metrics, protobuf encode)
against `telemetry_payload`, and a host's decode (and translation to the UNS messages) against
`orjson.loads` of the JSON batch. One device of 500 float32 tags, every value changing.

    .venv/bin/python bench/sparkplug_codec.py [--tags 500] [--polls 200] [--rounds 3]
"""

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from config.loader import parse_plant  # noqa: E402
from config.plant import PlantConfig  # noqa: E402
from edge.model import Quality, Reading, TelemetryBatch  # noqa: E402
from edge.northbound.encode import telemetry_payload  # noqa: E402
from edge.sparkplug.metrics import alias_table  # noqa: E402
from edge.sparkplug.node_state import EdgeNode, Publish  # noqa: E402
from tests.northbound.synthetic import plant  # noqa: E402
from uns.sparkplug.host import SparkplugHost  # noqa: E402
from uns.sparkplug.payload import decode  # noqa: E402
from uns.topics import Namespace  # noqa: E402


def timed(fn: Callable[[], object]) -> float:
    gc.collect()
    gc.disable()  # the collector's pauses depend on what earlier steps left alive
    try:
        start = time.process_time()
        fn()
        return time.process_time() - start
    finally:
        gc.enable()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tags", type=int, default=500)
    ap.add_argument("--polls", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    n_tags, polls = args.tags, args.polls
    with tempfile.TemporaryDirectory() as tmp:
        cfg = parse_plant(plant("mqtt://127.0.0.1:1", Path(tmp), devices=1, tags=n_tags))
    for rnd in range(args.rounds):
        print(f"round {rnd + 1}:", one_round(cfg, n_tags, polls))


def one_round(cfg: PlantConfig, n_tags: int, polls: int) -> str:
    values = n_tags * polls
    node = EdgeNode("plant1", "edge-t", alias_table(cfg.devices), None)
    births = node.connected(0, 0)
    host = SparkplugHost(Namespace("acme", "plant1"), "plant1")
    for b in births:
        assert isinstance(b, Publish)
        host.receive(b.topic, b.payload)
    batches = [
        TelemetryBatch(
            "press-01",
            [
                Reading(f"t{i}", float(k * n_tags + i) + 0.5, Quality.GOOD, k, k)
                for i in range(n_tags)
            ],
            k,
        )
        for k in range(1, polls + 1)
    ]
    json_out: list[bytes] = []
    spb_out: list[Publish] = []
    bare = timed(lambda: [len(b.readings) for b in batches])
    enc_json = timed(lambda: json_out.extend(telemetry_payload("e", b, 1) for b in batches))
    enc_spb = timed(
        lambda: spb_out.extend(
            p for b in batches for p in node.telemetry(b, 1) if isinstance(p, Publish)
        )
    )
    dec_json = timed(lambda: [orjson.loads(p) for p in json_out])
    dec_spb = timed(lambda: [decode(p.payload) for p in spb_out])
    host_spb = timed(lambda: [host.receive(p.topic, p.payload) for p in spb_out])
    size_json = sum(map(len, json_out)) / values
    size_spb = sum(len(p.payload) for p in spb_out) / values

    def us(t: float) -> float:
        return t / values * 1e6

    return (
        f"{values} values; bare loop {us(bare):.3f} us/value\n"
        f"  edge encode: JSON {us(enc_json):.2f} us/value, Sparkplug DDATA "
        f"{us(enc_spb):.2f} (x{enc_spb / enc_json:.1f} of JSON)\n"
        f"  bytes/value: JSON {size_json:.1f}, Sparkplug {size_spb:.1f}\n"
        f"  host decode: JSON (orjson) {us(dec_json):.2f} us/value, Sparkplug "
        f"{us(dec_spb):.2f} (x{dec_spb / dec_json:.1f}); Sparkplug to UNS messages "
        f"{us(host_spb):.2f} (x{host_spb / dec_json:.1f})"
    )


if __name__ == "__main__":
    main()
