"""Liveness for load balancers, the demo and deployment checks."""

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from mes.api.exposure import exposed
from mes.api.problems import Problem, refusals

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    summary="Liveness: the MES is started and serving",
    responses=refusals("NOT_READY"),
)
def healthz(request: Request) -> dict[str, Any]:
    if getattr(request.app.state, "services", None) is None:
        raise Problem(503, "NOT_READY", "the MES is starting or stopping")
    return {"status": "ok"}


class _WriterStats(Collector):
    def __init__(self, writer: Any) -> None:
        self.writer = writer

    def collect(self) -> Iterator[Any]:
        for name, doc, value in (
            ("scan_requests", "station requests committed", self.writer.requests),
            ("scan_batches", "group commits of the scan writer", self.writer.batches),
            (
                "scan_writer_cpu_seconds",
                "CPU time of the scan writer threads",
                self.writer.cpu_seconds,
            ),
        ):
            yield CounterMetricFamily(f"shopfloor_mes_{name}", doc, value=value)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Prometheus metrics of this MES process (scan writer)",
    responses=refusals("NOT_READY"),
    dependencies=[exposed("metrics")],
)
def metrics(request: Request) -> PlainTextResponse:
    services = getattr(request.app.state, "services", None)
    if services is None:
        raise Problem(503, "NOT_READY", "the MES is starting or stopping")
    registry = CollectorRegistry(auto_describe=True)
    registry.register(_WriterStats(services.writer))
    return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
