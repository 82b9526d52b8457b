"""Finite-capacity scheduling (APS): a pure planning core, no I/O.

`plan(problem)` takes a `Problem` (work orders, workstations with calendars, materials, setups,
the floor as it is) and answers a `Plan`. See docs/scheduling.md.
"""

from mes.scheduling.cpsat import SolverSettings
from mes.scheduling.dispatch import Rule
from mes.scheduling.model import (
    Breakdown,
    Capability,
    FloorState,
    Material,
    MaterialNeed,
    ModelError,
    Operation,
    OperationRef,
    Problem,
    Receipt,
    RunningOperation,
    SetupMatrix,
    SlotLock,
    Window,
    WorkOrder,
    Workstation,
)
from mes.scheduling.plan import Assignment, Notice, OrderOutcome, Pin, Plan, PlanningError
from mes.scheduling.planner import PlannerSettings, plan
from mes.scheduling.search import SearchSettings

__all__ = [
    "Assignment",
    "Breakdown",
    "Capability",
    "FloorState",
    "Material",
    "MaterialNeed",
    "ModelError",
    "Notice",
    "Operation",
    "OperationRef",
    "OrderOutcome",
    "Pin",
    "Plan",
    "PlannerSettings",
    "PlanningError",
    "Problem",
    "Receipt",
    "Rule",
    "RunningOperation",
    "SearchSettings",
    "SetupMatrix",
    "SlotLock",
    "SolverSettings",
    "Window",
    "WorkOrder",
    "Workstation",
    "plan",
]
