"""The scan writer's batch: the kernel's batch context plus what the station handler reads
once per batch (one typed object, held by the session; see `mes.core.batch`)."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from mes.auth.models import Operator
from mes.core.batch import Batch, batch_of
from mes.masterdata.models import Workstation
from mes.orders.models import Operation, WorkOrder
from mes.reporting.models import StationState

if TYPE_CHECKING:
    from mes.reporting.handler import Answer


@dataclass(slots=True, eq=False)
class ScanBatch(Batch):
    #: event ids of the batch that are new (no scan log row)
    new_events: set[str] = field(default_factory=set)
    #: the batch's station states, locked by `StationHandler.prefetch`
    locked_states: dict[str, StationState] = field(default_factory=dict)
    #: the batch's workstations, kept for the work-centre check (strong references: the
    #: identity map alone would let the rows be collected)
    workstations: list[Workstation] = field(default_factory=list)
    #: station -> logged-in operators, earliest first
    operators: dict[str, list[Operator]] = field(default_factory=dict)
    #: event id -> (station, answer) of the requests answered in this batch
    answered: dict[str, "tuple[str, Answer]"] = field(default_factory=dict)
    #: work orders and operations the batch loaded, by number (`mes.reporting.jobs.summary`)
    loaded: dict[tuple[Any, ...], WorkOrder | Operation] = field(default_factory=dict)


def scan_batch(session: Session) -> ScanBatch | None:
    batch = batch_of(session)
    return batch if isinstance(batch, ScanBatch) else None
