"""Prometheus metrics of the historian, read from its stats at scrape time."""

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from historian.service import HistorianStats

PREFIX = "shopfloor_historian"


class _Stats(Collector):
    def __init__(self, stats: HistorianStats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Any]:
        s = self.stats
        for name, doc, value in (
            ("messages_received", "telemetry messages received", s.messages_received),
            (
                "messages_acked",
                "messages acknowledged after the store accepted them",
                s.messages_acked,
            ),
            ("points_written", "points the store accepted", s.points_written),
            (
                "bad_messages",
                "messages that were not telemetry (acknowledged, not stored)",
                s.bad_messages,
            ),
            ("write_errors", "store writes that failed (retried)", s.write_errors),
            ("reconnects", "reconnections to the broker", s.reconnects),
            ("write_seconds", "time spent in accepted store writes", s.write_seconds),
            ("writes", "accepted store writes", s.writes),
        ):
            yield CounterMetricFamily(f"{PREFIX}_{name}", doc, value=value)
        yield GaugeMetricFamily(
            f"{PREFIX}_buffered_messages",
            "messages held, not yet acknowledged",
            s.buffered_messages,
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_subscribed", "1 when subscribed to the telemetry", int(s.subscribed)
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_store_up", "1 when the store accepts writes", int(s.store_up)
        )


def historian_registry(stats: HistorianStats) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(_Stats(stats))
    return registry
