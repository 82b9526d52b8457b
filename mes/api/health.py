"""Liveness for load balancers, the demo and deployment checks."""

from typing import Any

from fastapi import APIRouter, Request

from mes.api.problems import Problem

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the MES is started and serving")
def healthz(request: Request) -> dict[str, Any]:
    if getattr(request.app.state, "services", None) is None:
        raise Problem(503, "NOT_READY", "the MES is starting or stopping")
    return {"status": "ok"}
