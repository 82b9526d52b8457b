"""Liveness for load balancers, the demo and deployment checks."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from mes.api.problems import Problem

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the MES is started and serving")
def healthz(request: Request) -> dict[str, Any]:
    if getattr(request.app.state, "services", None) is None:
        raise Problem(503, "NOT_READY", "the MES is starting or stopping")
    return {"status": "ok"}


_METRICS = (
    ("shopfloor_mes_scan_requests_total", "counter", "station requests committed", "requests"),
    ("shopfloor_mes_scan_batches_total", "counter", "group commits of the scan writer", "batches"),
    (
        "shopfloor_mes_scan_writer_cpu_seconds_total",
        "counter",
        "CPU time of the scan writer threads",
        "cpu_seconds",
    ),
)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Prometheus metrics of this MES process (scan writer)",
)
def metrics(request: Request) -> str:
    services = getattr(request.app.state, "services", None)
    if services is None:
        raise Problem(503, "NOT_READY", "the MES is starting or stopping")
    lines = []
    for name, kind, text, attr in _METRICS:
        lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
        lines.append(f"{name} {getattr(services.writer, attr)}")
    return "\n".join(lines) + "\n"
