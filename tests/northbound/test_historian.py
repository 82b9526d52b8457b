"""The historian between a real Mosquitto and a real VictoriaMetrics (or its embedded store)."""

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paho.mqtt.enums import MQTTProtocolVersion

from config.loader import parse_plant
from edge.model import now_ms
from historian.service import Historian
from historian.stores import EmbeddedStore, StoreRejected, query_history
from tests.northbound.helpers import batch, northbound
from tests.northbound.synthetic import plant, write_plant
from tests.services.mosquitto import Mosquitto
from tests.services.ports import wait_for
from tests.services.victoria import Victoria

TAGS = 10
SHOPFLOOR = str(Path(sys.executable).parent / "shopfloor")


def historian_cfg(broker_url: str, tmp: Path, **historian: Any) -> Any:
    data = plant(broker_url, tmp, devices=0)
    data["historian"] = {
        "batch_size": 200,
        "flush_interval_ms": 50,
        "retry_max_s": 0.5,
        "share_group": historian["client_id"],  # a stopped historian keeps its share queued
        **historian,
    }
    return parse_plant(data)


def distinct_ts(store: Victoria, device: str, tag: str) -> set[int]:
    series = store.export(f'telemetry_value{{device="{device}",tag="{tag}"}}')
    return {ts for s in series for ts in s["timestamps"]}


def test_time_series_server_restarted_during_flow_loses_nothing(
    mosquitto: Mosquitto, victoria_factory: Callable[..., Victoria], tmp_path: Path
) -> None:
    vm = victoria_factory().start()
    hist = Historian(
        historian_cfg(mosquitto.url, tmp_path, url=vm.url, client_id="hist-restart"),
        MQTTProtocolVersion.MQTTv5,
    )
    hist.start()
    wait_for(lambda: hist.stats.subscribed, 10, "historian subscribed")
    nb = northbound(mosquitto.url, str(tmp_path / "q.sqlite"))
    nb.start()
    sent: list[int] = []
    halt = threading.Event()

    def flow() -> None:
        while not halt.wait(0.02):  # the poll rhythm of a device, not synchronisation
            b = batch("press-01", TAGS, base=len(sent))
            nb.put(b)
            sent.append(b.readings[0].ts)

    producer = threading.Thread(target=flow, daemon=True)
    producer.start()
    wait_for(lambda: hist.stats.points_written >= 20 * TAGS, 10, "points flowing")
    vm.stop()
    wait_for(lambda: hist.stats.write_errors >= 2, 10, "writes failing while the store is down")
    at_stop = len(sent)
    wait_for(lambda: len(sent) >= at_stop + 50, 10, "flow continues during the outage")
    vm.start()
    wait_for(lambda: len(sent) >= at_stop + 100, 10, "flow after restart")
    halt.set()
    producer.join()
    total = len(sent)
    wait_for(lambda: hist.stats.points_written >= total * TAGS, 20, "all points written")
    nb.stop()
    hist.stop()
    for tag in ("t0", f"t{TAGS - 1}"):
        got = vm.wait_export(
            f'telemetry_value{{device="press-01",tag="{tag}"}}',
            lambda s: sum(len(x["timestamps"]) for x in s) >= total,
        )
        stamps = {ts for s in got for ts in s["timestamps"]}
        assert stamps >= set(sent), f"{len(set(sent) - stamps)} points of {tag} missing"
    quality = vm.export('telemetry_quality{device="press-01",tag="t3"}')
    assert set(quality[0]["values"]) == {0}


def test_embedded_store_and_history_command(mosquitto: Mosquitto, tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    cfg = historian_cfg(mosquitto.url, tmp_path, embedded_path=str(db), client_id="hist-emb")
    hist = Historian(cfg, MQTTProtocolVersion.MQTTv311)  # plain subscription, as with amqtt
    hist.start()
    wait_for(lambda: hist.stats.subscribed, 10, "historian subscribed")
    nb = northbound(mosquitto.url, str(tmp_path / "q.sqlite"))
    nb.start()
    t0 = now_ms() - 1000
    for i in range(5):
        b = batch("press-02", 3, base=i * 10)
        for r in b.readings:
            r.ts = t0 + i  # one poll per millisecond: distinct timestamps
        nb.put(b)
    wait_for(lambda: hist.stats.points_written >= 15, 10, "15 points stored")
    nb.stop()
    hist.stop()
    samples = query_history(db, "t1", 0, device="press-02")
    assert [s.value for s in samples] == [1.0, 11.0, 21.0, 31.0, 41.0]
    assert {s.quality for s in samples} == {"good"}
    data = plant(mosquitto.url, tmp_path, devices=0)
    data["historian"] = {"embedded_path": str(db)}
    plant_file = write_plant(tmp_path / "plant.yaml", data)
    r = subprocess.run(
        [SHOPFLOOR, "history", "press-02.t2", "--since", "10m", "-c", str(plant_file)],
        capture_output=True,
        timeout=60,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    rows = r.stdout.strip().splitlines()
    assert len(rows) == 5
    assert rows[-1].split()[1:4] == ["press-02", "t2", "42.0"]


class PickyStore(EmbeddedStore):
    """The embedded store, refusing (like an InfluxDB HTTP 400) any batch holding 13.0."""

    def write(self, lines: Any, points: Any) -> None:
        if any(p.value == 13.0 for p in points):
            raise StoreRejected("bad data: 13.0")
        super().write(lines, points)


def test_refused_data_is_isolated_and_the_rest_stored(mosquitto: Mosquitto, tmp_path: Path) -> None:
    db = tmp_path / "picky.sqlite"
    cfg = historian_cfg(mosquitto.url, tmp_path, embedded_path=str(db), client_id="hist-picky")
    hist = Historian(cfg, MQTTProtocolVersion.MQTTv5, store=PickyStore(db))
    hist._line_protocol = False  # the picky store takes points, like the embedded one
    hist.start()
    wait_for(lambda: hist.stats.subscribed, 10, "historian subscribed")
    nb = northbound(mosquitto.url, str(tmp_path / "q.sqlite"))
    nb.start()
    t0 = now_ms() - 1000
    for i in range(5):  # one batch per poll; the third carries 13.0
        b = batch("press-01", 1, base=[1.0, 2.0, 13.0, 4.0, 5.0][i])
        b.readings[0].ts = t0 + i
        nb.put(b)
    wait_for(lambda: hist.stats.messages_acked == 5, 15, "all 5 messages acknowledged")
    nb.stop()
    hist.stop()
    assert hist.stats.bad_messages == 1
    assert [s.value for s in query_history(db, "t0", 0)] == [1.0, 2.0, 4.0, 5.0]
