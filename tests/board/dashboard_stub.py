"""STUB, test-only: the dashboard figures API is built on branch `dash` (issue 14). Until it
lands, the owner's page is tested against these fixed answers in the agreed shape; once the
real routes exist, `install` adds nothing and the tests read the real API."""

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

SUMMARY: dict[str, Any] = {
    "period": {
        "start": "2026-12-01T00:00:00+00:00",
        "end": "2026-12-08T00:00:00+00:00",
        "timezone": "UTC",
        "name": "week",
    },
    "on_time": {
        "due": 25,
        "on_time": 23,
        "late": 2,
        "open_overdue": 1,
        "rate": 0.92,
        "definition": None,
    },
    "output": {"planned": 12000, "good": 11250, "scrap": 310, "ratio": 0.9375},
    "wip": [
        {"operation": "0010", "name": "Stamp", "work_orders": 4, "quantity": 820},
        {"operation": "0020", "name": "Bake", "work_orders": 2, "quantity": 300},
    ],
    "scrap_by_reason": [
        {
            "key": "DIMENSION",
            "name": "Dimension",
            "quantity": 180,
            "share": 0.58,
            "cumulative": 0.58,
        },
        {"key": "SURFACE", "name": "Surface", "quantity": 90, "share": 0.29, "cumulative": 0.87},
        {"key": "MATERIAL", "name": "Material", "quantity": 40, "share": 0.13, "cumulative": 1.0},
    ],
    "scrap_by_product": [
        {"key": "BRKT-200", "name": "Bracket 200", "quantity": 310, "share": 1.0, "cumulative": 1.0}
    ],
    "oee_trend": [
        {
            "line": "stamping/line1",
            "day": d,
            "oee": o,
            "availability": 0.9,
            "effectiveness": 0.9,
            "quality": 0.97,
        }
        for d, o in (("2026-12-01", 0.71), ("2026-12-02", 0.74), ("2026-12-03", 0.69))
    ]
    + [
        {
            "line": "finishing/line1",
            "day": d,
            "oee": o,
            "availability": 0.95,
            "effectiveness": 0.85,
            "quality": 0.99,
        }
        for d, o in (("2026-12-01", 0.62), ("2026-12-02", 0.66), ("2026-12-03", 0.7))
    ],
    "lead_time": {"orders": 23, "mean_h": 30.5, "p50_h": 26.0, "p90_h": 52.2},
    "downtime_top": [
        {"reason": "DIE", "name": "Die damaged", "seconds": 7200, "events": 3},
        {"reason": "HYD", "name": "Hydraulics", "seconds": 2700, "events": 2},
    ],
    "alarms_open": 1,
    "holds_open": 1,
}

LATE_ORDERS: list[dict[str, Any]] = [
    {
        "work_order": "WO-000017",
        "product": "BRKT-200",
        "quantity": 200,
        "good": 196,
        "scrap": 4,
        "state": "COMPLETED",
        "released_at": "2026-12-01T06:00:00+00:00",
        "started_at": "2026-12-01T07:00:00+00:00",
        "completed_at": "2026-12-03T18:00:00+00:00",
        "due": "2026-12-03T12:00:00+00:00",
        "lateness_h": 6.0,
    }
]


def install(app: FastAPI) -> None:
    """Add the stub routes unless the app has the real ones (no token check: a stub)."""
    paths = {r.path for r in app.routes if isinstance(r, APIRoute)}
    if "/api/v1/dashboard/summary" in paths:
        return  # the real API is there: test it

    @app.get("/api/v1/dashboard/summary", include_in_schema=False)
    def summary() -> dict[str, Any]:
        return SUMMARY

    @app.get("/api/v1/dashboard/orders", include_in_schema=False)
    def orders() -> list[dict[str, Any]]:
        return LATE_ORDERS
