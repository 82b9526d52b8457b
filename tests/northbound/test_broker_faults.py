"""Broker outages: values are counted exactly by seq, before and after."""

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.northbound.helpers import NS, Collector, batch, check_stream, northbound
from tests.services.mosquitto import Mosquitto
from tests.services.ports import free_port, wait_for

OUTAGE_S = 20.0
POLL_S = 0.02


class SteadyFlow(threading.Thread):
    """Two devices at a fixed 20 ms poll, like the agent's pipelines, until stopped."""

    def __init__(self, put: Callable[..., None]) -> None:
        super().__init__(daemon=True)
        self.put = put
        self.polls = 0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(POLL_S):  # the poll rhythm, not synchronisation
            self.put(batch("press-01", 50, base=self.polls))
            self.put(batch("press-02", 50, base=self.polls))
            self.polls += 1


@pytest.mark.slow
def test_broker_killed_for_20s_loses_nothing(
    mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path
) -> None:
    broker = mosquitto_factory().start()
    col = Collector(broker.url, f"{NS.root}/+/+/+/+/_telemetry", client_id="col-outage")
    wait_for((broker.dir / "mosquitto.db").exists, 5, "subscription persisted by the broker")
    nb = northbound(broker.url, str(tmp_path / "q.sqlite"))
    nb.start()
    flow = SteadyFlow(nb.put)
    flow.start()
    wait_for(lambda: len(col.seqs("press-01")) >= 50, 10, "flow established")
    broker.kill()
    at_kill = flow.polls
    polls_per_outage = int(OUTAGE_S / POLL_S)
    wait_for(lambda: flow.polls >= at_kill + polls_per_outage, OUTAGE_S * 3, "20 s of outage")
    assert nb.stats.queue_depth > 0.9 * polls_per_outage * 2  # the outage was buffered
    broker.start()
    wait_for(lambda: nb.stats.reconnects >= 1, 15, "publisher reconnected")
    wait_for(lambda: len(col.seqs("press-01")) >= flow.polls, 30, "replay under live flow")
    flow.halt.set()
    flow.join()
    total = flow.polls
    wait_for(
        lambda: col.has_seqs("press-01", total) and col.has_seqs("press-02", total),
        30,
        f"all {total} batches per device",
    )
    wait_for(lambda: nb.stats.queue_depth == 0, 10, "queue empty")
    nb.stop()
    col.close()
    dups = sum(
        check_stream(col.seqs(d), list(range(1, total + 1)), nb.window)
        for d in ("press-01", "press-02")
    )
    assert nb.stats.dropped_messages == 0
    assert nb.stats.values_published == 2 * total * 50
    print(f"{total} batches per device, {dups} QoS 1 redeliveries")


def test_queue_full_drops_oldest_and_counts_them(
    mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path
) -> None:
    port = free_port()
    broker = mosquitto_factory(port=port).start()
    # the subscriber's persistent session is on the broker before the agent can publish: the
    # agent reconnects by itself once the broker is back, maybe before a new subscriber would
    Collector(broker.url, f"{NS.root}/+/+/+/+/_telemetry", client_id="col-full").close()
    broker.stop()  # the agent is offline (the broker keeps its sessions on disk)
    nb = northbound(broker.url, str(tmp_path / "q.sqlite"), max_bytes=64 * 1024)
    nb.start()
    one = len(batch("press-01", 20).readings)
    n = 0
    while nb.stats.dropped_messages == 0:
        nb.put(batch("press-01", 20, base=n))
        n += 1
        wait_for(lambda n=n: nb.stats.values_enqueued == n * one, 5, "batch stored")
    for _ in range(25):
        n += 1
        nb.put(batch("press-01", 20, base=n))
    wait_for(lambda: nb.stats.values_enqueued == n * one, 5, "all stored")
    kept = nb.stats.queue_depth
    dropped = nb.stats.dropped_messages
    assert kept + dropped == n
    assert nb.stats.dropped_values == dropped * one
    assert nb.stats.queue_bytes <= 64 * 1024
    broker.start()
    col = Collector(broker.url, f"{NS.root}/+/+/+/+/_telemetry", client_id="col-full")  # again
    wait_for(lambda: nb.stats.queue_depth == 0, 15, "backlog replayed")
    wait_for(lambda: len(col.seqs("press-01")) >= kept, 10, "kept messages delivered")
    nb.stop()
    # the oldest `dropped` seqs are gone, every later one arrives exactly once, in order
    check_stream(col.seqs("press-01"), list(range(dropped + 1, n + 1)), 0)
    col.close()
