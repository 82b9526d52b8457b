"""What happens beside production when a work order completes, as an interface: production
never imports the features above it. The dashboard implements it
(`mes.dashboard.delivery.DeliverySplits`: the order's stored lead-time split) and the wiring
(`mes.wiring`) hands it to `mes.production.service.Production`."""

from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from mes.orders.models import WorkOrder


class OrderCompleted(Protocol):
    def completed(self, session: Session, wo: WorkOrder, now: datetime) -> None:
        """In the completing transaction, after the order and its last operation are
        written (completion time set)."""
        ...
