"""What production needs from quality holds, as an interface: production never imports
quality. The quality package implements it (`mes.quality.policy.QualityHolds`) and the wiring
(`mes.wiring`) hands it to `mes.production.service.Production`."""

from collections.abc import Sequence
from typing import Any, Protocol

from sqlmodel import Session

from mes.core.batch import Batch
from mes.orders.models import WorkOrder


class HoldPolicy(Protocol):
    def blocking(
        self,
        session: Session,
        work_order_id: int | None,
        operation_id: int | None,
        workstation: str | None,
        lots: Sequence[str],
    ) -> list[tuple[str, str]]:
        """(hold id, reason) of the active holds that forbid reporting on this work order /
        operation / workstation / lots, oldest first."""
        ...

    def erp_holds(self, session: Session, wo: WorkOrder) -> list[dict[str, Any]]:
        """The `holds` extension of an operation confirmation for `wo`."""
        ...

    def gate(self, session: Session, batch: Batch) -> None:
        """Once per batch: clear `batch.holds_possible` when no hold is active, and set it
        again as soon as the session adds one."""
        ...
