"""Quantity rules of an operation, pure: how much may still be reported, and why not."""

import math
from dataclasses import dataclass

from mes.core.errors import Refusal, RefusalCode


@dataclass(frozen=True, slots=True)
class OperationCounts:
    """`available` is what the previous operation released (None for the first operation)."""

    work_order: str
    operation: str
    order_quantity: int
    good: int
    scrap: int
    rework: int
    available: int | None


def order_limit(order_quantity: int, tolerance_percent: float) -> int:
    """Most units an operation may process: the order quantity plus the tolerance."""
    return math.floor(order_quantity * (1 + tolerance_percent / 100) + 1e-9)


def check_report(
    counts: OperationCounts,
    tolerance_percent: float,
    *,
    good: int = 0,
    scrap: int = 0,
    rework: int = 0,
    from_rework: int = 0,
) -> None:
    """Raise a `Refusal` when the report would go beyond what the order or the previous
    operation allows. `from_rework` good units come back from the rework pool (not new)."""
    for name, n in (("good", good), ("scrap", scrap), ("rework", rework)):
        if n < 0:
            raise Refusal(
                RefusalCode.INVALID_QUANTITY, f"{name} quantity must not be negative, got {n}"
            )
    if good + scrap + rework <= 0:
        raise Refusal(RefusalCode.INVALID_QUANTITY, "a report needs a quantity above zero")
    if from_rework > counts.rework or from_rework > good:
        raise Refusal(
            RefusalCode.INVALID_QUANTITY,
            f"{counts.work_order}/{counts.operation}: only {counts.rework} units are in rework",
        )
    processed = counts.good + counts.scrap + counts.rework
    new = good + scrap + rework - from_rework
    limit = order_limit(counts.order_quantity, tolerance_percent)
    if processed + new > limit:
        raise Refusal(
            RefusalCode.QUANTITY_ABOVE_ORDER,
            f"{counts.work_order}/{counts.operation}: {processed} of {counts.order_quantity} "
            f"already reported, {new} more exceeds the order (limit {limit})",
        )
    if counts.available is not None and processed + new > counts.available:
        raise Refusal(
            RefusalCode.QUANTITY_ABOVE_RELEASED,
            f"{counts.work_order}/{counts.operation}: the previous operation released "
            f"{counts.available}, {processed} already processed here, {new} more is too many",
        )
