"""What changed between two plans, operation by operation (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class SlotView:
    """An operation's slot as both plans store it."""

    work_order: str
    operation: str
    workstation: str
    start: datetime
    end: datetime
    #: started on the floor: its planned start follows the clock (what is left starts now)
    running: bool = False


def plan_diff(before: Iterable[SlotView], after: Iterable[SlotView]) -> dict[str, Any]:
    """`added` (new in the plan), `removed` (done, cancelled or left out), `moved` (another
    workstation or another start), and how many kept their slot (an operation running in both
    plans keeps it while it stays on its workstation)."""
    old = {(s.work_order, s.operation): s for s in before}
    new = {(s.work_order, s.operation): s for s in after}
    moved = []
    kept = 0
    for key, s in sorted(new.items()):
        o = old.get(key)
        if o is None:
            continue
        if o.workstation == s.workstation and (o.start == s.start or (o.running and s.running)):
            kept += 1
            continue
        moved.append(
            {
                "work_order": s.work_order,
                "operation": s.operation,
                "from_workstation": o.workstation,
                "to_workstation": s.workstation,
                "from_start": o.start.isoformat(),
                "to_start": s.start.isoformat(),
                "shift_s": (s.start - o.start).total_seconds(),
            }
        )
    return {
        "added": [{"work_order": k[0], "operation": k[1]} for k in sorted(new.keys() - old.keys())],
        "removed": [
            {"work_order": k[0], "operation": k[1]} for k in sorted(old.keys() - new.keys())
        ],
        "moved": moved,
        "kept": kept,
    }
