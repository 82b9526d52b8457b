"""The publisher against a real Mosquitto: contract payloads, seq across restarts, statuses."""

from pathlib import Path
from typing import Any

import orjson

from config.plant import Broker, Queue
from edge.northbound.publisher import Northbound
from tests.northbound.helpers import NS, PATHS, Collector, batch, check_stream, northbound
from tests.services.mosquitto import Mosquitto
from tests.services.ports import wait_for


def test_batches_arrive_in_order_and_seq_survives_restart(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    col = Collector(mosquitto.url, f"{NS.root}/#", client_id="col-order")
    qpath = str(tmp_path / "q.sqlite")
    nb = northbound(mosquitto.url, qpath)
    nb.start()
    for i in range(40):
        nb.put(batch("press-01", 5, base=i))
        nb.put(batch("press-02", 3))
    wait_for(lambda: col.has_seqs("press-01", 40) and col.has_seqs("press-02", 40), 10, "40")
    wait_for(lambda: nb.stats.queue_depth == 0, 5, "queue drained")
    nb.stop()
    assert nb.stats.values_published == 40 * 8
    nb2 = northbound(mosquitto.url, qpath)
    nb2.start()
    nb2.put(batch("press-01", 1))
    wait_for(lambda: col.has_seqs("press-01", 41), 10, "seq 41 after restart")
    nb2.stop()
    check_stream(col.seqs("press-01"), list(range(1, 42)), 0)
    first = col.telemetry()["press-01"][0]
    assert first["v"] == 1
    assert first["agent"] == "edge-t"
    assert first["device"] == "press-01"
    assert first["values"][4] == {
        "tag": "t4",
        "value": 4.0,
        "quality": "good",
        "ts": first["values"][4]["ts"],
        "unit": "bar",
    }

    def statuses() -> list[dict[str, Any]]:
        return [
            orjson.loads(p)
            for t, p, old in list(col.messages)
            if t == NS.agent_status("edge-t") and not old
        ]

    def offline_last() -> bool:
        got = statuses()
        return bool(got) and got[-1]["online"] is False

    # the offline status was acknowledged at the stop; the collector hears it a moment later
    wait_for(offline_last, 10, "the offline status")
    assert statuses()[0]["online"] is True
    col.close()


def test_device_status_and_tag_topics_are_retained(mosquitto: Mosquitto, tmp_path: Path) -> None:
    nb = northbound(mosquitto.url, str(tmp_path / "q.sqlite"), per_tag_topics=True)
    nb.start()
    nb.device_status("press-02", "degraded", "2 of 3 tags failing")
    nb.put(batch("press-02", 2, base=10))
    wait_for(lambda: nb.stats.messages_published == 4, 10, "4 messages acknowledged")
    nb.stop()
    # a late subscriber gets the retained ones only
    col = Collector(mosquitto.url, f"{NS.device(PATHS['press-02'], 'press-02')}/#", "col-late")
    wait_for(lambda: len(col.messages) == 3, 10, "3 retained messages")
    got = {t.rsplit("/", 1)[1]: orjson.loads(p) for t, p, retained in col.messages if retained}
    assert got["_status"]["state"] == "degraded"
    assert got["_status"]["error"] == "2 of 3 tags failing"
    assert got["t1"]["value"] == 11.0
    assert got["t1"]["quality"] == "good"
    col.close()


def test_batches_the_pump_cannot_take_are_bounded_dropped_oldest_and_counted(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """Under overload (here: the pump not started yet) at most `max_pending_values` wait in
    memory; the oldest telemetry goes first and is counted, other messages are kept."""
    col = Collector(mosquitto.url, f"{NS.root}/#", client_id="col-overflow")
    queue = Queue(path=str(tmp_path / "q.sqlite"), max_pending_values=1000)
    nb = Northbound(Broker(url=mosquitto.url), NS, "edge-t", PATHS, queue)
    for i in range(6):
        nb.put(batch("press-01", 300, base=1000 * i))
        if i == 1:
            nb.device_status("press-01", "degraded", "overloaded")
    nb.start()
    wait_for(lambda: nb.stats.values_published == 900, 10, "the 900 values kept")
    nb.stop()
    assert (nb.stats.dropped_messages, nb.stats.dropped_values) == (3, 900)
    received = [p["values"][0]["value"] for p in col.telemetry()["press-01"]]
    assert received == [3000.0, 4000.0, 5000.0]
    statuses = [
        orjson.loads(p)
        for t, p, old in col.messages
        if t.endswith("press-01/_status") and not old  # not another test's retained status
    ]
    assert [s["state"] for s in statuses] == ["degraded"]
    col.close()
