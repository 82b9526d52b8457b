"""`_mes/schedule` (a contract extension, docs/contracts.md): each new plan, for the ERP."""

from __future__ import annotations

from typing import Any

from mes.scheduling import Plan

#: outbox kind of a plan message (the runtime maps it to `_mes/schedule`)
SCHEDULE = "schedule"


def schedule_payload(
    plan_id: int, message_id: str, plan: Plan, erp_ids: dict[str, str], approved: bool
) -> dict[str, Any]:
    return {
        "v": 1,
        "message_id": message_id,
        "type": "schedule.plan",
        "plan_id": plan_id,
        "approved": approved,
        "method": plan.method,
        "orders": [
            {
                "erp_id": erp_ids.get(o.order),
                "work_order": o.order,
                "predicted_finish": o.completion.isoformat(),
                "due_at": o.due.isoformat(),
                "late": not o.on_time,
                "tardiness_s": o.tardiness_s,
            }
            for o in plan.outcomes
        ],
        "operations": [
            {
                "erp_id": erp_ids.get(a.order),
                "work_order": a.order,
                "operation": a.operation,
                "workstation": a.workstation,
                "setup_start": a.setup_start.isoformat(),
                "start": a.start.isoformat(),
                "end": a.end.isoformat(),
                "pin": str(a.pin),
            }
            for a in plan.assignments
        ],
        "errors": [
            {"work_order": e.order, "operation": e.operation, "reason": e.reason}
            for e in plan.errors
        ],
    }
