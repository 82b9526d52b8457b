"""The production service: shop-floor actions on work orders and operations, run inside the
CALLER's transaction.

The scan handler, the REST buttons and quality call these with their own session and commit
themselves. Each action locks the work-order row first (`mes.production.locking`), checks the
rules and raises `Refusal` with a contract error code, or writes its production event, state
changes and confirmation together. Nothing here commits.

`Production(holds, completions)` receives the quality hold policy (`HoldPolicy`) and what
runs when a work order completes (`OrderCompleted`: the dashboard's stored split) from the
wiring (`mes.wiring`): production never imports quality or the dashboard.
"""

from collections.abc import Sequence

from mes.production import locking, work_orders
from mes.production.completion import OrderCompleted
from mes.production.corrections import Corrections
from mes.production.holds import HoldPolicy
from mes.production.operations import OperationMoves
from mes.production.reports import Reports


class Production(OperationMoves, Reports, Corrections):
    def __init__(self, holds: HoldPolicy, completions: Sequence[OrderCompleted] = ()) -> None:
        self.holds = holds
        self.completions = tuple(completions)

    prefetch = staticmethod(locking.prefetch)
    suspend_work_order = staticmethod(work_orders.suspend_work_order)
    resume_work_order = staticmethod(work_orders.resume_work_order)
    abort_work_order = staticmethod(work_orders.abort_work_order)
    reprioritise_work_order = staticmethod(work_orders.reprioritise_work_order)
    hold_work_order = staticmethod(work_orders.hold_work_order)
    release_work_order_hold = staticmethod(work_orders.release_work_order_hold)
