"""Prometheus metrics of the edge agent, and their rendering for a person (`edge status`).

Counters that the hot path updates (values read) are plain Prometheus counters; what other
parts already count (the publisher's stats, the drivers' overruns) is read at scrape time by a
collector, so the hot path pays nothing for it.
"""

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from edge.northbound.publisher import NorthboundStats

PREFIX = "shopfloor_edge"


class _Snapshot(Collector):
    def __init__(self, stats: NorthboundStats, overruns: Callable[[], Mapping[str, int]]) -> None:
        self.stats = stats
        self.overruns = overruns

    def collect(self) -> Iterator[Any]:
        s = self.stats
        for name, doc, value in (
            ("values_published", "telemetry values acknowledged by the broker", s.values_published),
            ("messages_published", "messages acknowledged by the broker", s.messages_published),
            ("messages_rejected", "messages the broker refused (removed)", s.messages_rejected),
            ("dropped_messages", "messages dropped by the queue bound", s.dropped_messages),
            ("dropped_values", "telemetry values dropped by the queue bound", s.dropped_values),
            ("reconnects", "reconnections to the broker", s.reconnects),
        ):
            yield CounterMetricFamily(f"{PREFIX}_{name}", doc, value=value)
        yield GaugeMetricFamily(f"{PREFIX}_queue_depth", "messages in the queue", s.queue_depth)
        yield GaugeMetricFamily(f"{PREFIX}_queue_bytes", "bytes in the queue", s.queue_bytes)
        yield GaugeMetricFamily(
            f"{PREFIX}_broker_connected", "1 when connected to the broker", int(s.connected)
        )
        fam = CounterMetricFamily(
            f"{PREFIX}_poll_overruns",
            "polls skipped because the previous one ran late",
            labels=["device"],
        )
        for device, n in sorted(self.overruns().items()):
            fam.add_metric([device], n)
        yield fam


class AgentMetrics:
    """One registry per agent (no module-level state)."""

    def __init__(
        self, stats: NorthboundStats, overruns: Callable[[], Mapping[str, int]] = dict
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.values_read = Counter(
            f"{PREFIX}_values_read", "values read from devices", ["device"], registry=self.registry
        )
        self.values_written = Counter(
            f"{PREFIX}_values_written",
            "write requests by outcome",
            ["device", "outcome"],
            registry=self.registry,
        )
        self.write_latency = Histogram(
            f"{PREFIX}_write_latency_seconds",
            "time from write request to device answer",
            ["device"],
            registry=self.registry,
        )
        self.registry.register(_Snapshot(stats, overruns))

    def render(self) -> bytes:
        return generate_latest(self.registry)


def summarize(text: str) -> str:
    """The metrics text of an agent (or historian) as a short report for a person."""
    lines: list[str] = []
    for fam in text_string_to_metric_families(text):
        if not fam.name.startswith("shopfloor_"):
            continue
        for sample in fam.samples:
            if sample.name.endswith(("_created", "_bucket")):
                continue
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            name = sample.name.removeprefix("shopfloor_")
            label = f"{name}{{{labels}}}" if labels else name
            value = sample.value
            shown = f"{int(value)}" if float(value).is_integer() else f"{value:.4f}"
            lines.append(f"  {label:<60} {shown:>14}")
    return "\n".join(lines) if lines else "  (no shopfloor metrics)"
