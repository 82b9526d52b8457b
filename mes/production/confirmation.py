"""The operation confirmation sent to the ERP (docs/contracts.md section 6), built without I/O."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class MaterialLine:
    product: str
    lot: str | None
    serial: str | None
    quantity: float
    unit: str

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"product": self.product, "lot": self.lot}
        if self.serial is not None:
            out["serial"] = self.serial  # extension: a consumed serial number
        out.update(quantity=self.quantity, unit=self.unit)
        return out


@dataclass(frozen=True, slots=True)
class Confirmation:
    message_id: str
    erp_id: str
    work_order: str
    operation: str
    workstation: str | None
    started_at: datetime | None
    ended_at: datetime
    good: int = 0
    scrap: int = 0
    scrap_reasons: dict[str, int] = field(default_factory=dict)
    rework: int = 0
    final: bool = False
    correction_of: str | None = None
    operators: tuple[str, ...] = ()
    materials_consumed: tuple[MaterialLine, ...] = ()
    produced: tuple[dict[str, Any], ...] = ()
    #: extension: quality holds active on the order, its operations or its lots
    #: (`{"hold_id", "reason", "target": {"kind", "id"}}`); sent only when there are some
    holds: tuple[dict[str, Any], ...] = ()
    #: extension: the hold release this confirmation reports (`{"hold_id", "disposition",
    #: "target"}`), on the confirmation of a scrap or rework disposition
    disposition: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        out = {
            "v": 1,
            "message_id": self.message_id,
            "type": "operation.confirmation",
            "erp_id": self.erp_id,
            "work_order": self.work_order,
            "operation": self.operation,
            "workstation": self.workstation,
            "good": self.good,
            "scrap": self.scrap,
            "scrap_reasons": dict(self.scrap_reasons),
            "rework": self.rework,
            "final": self.final,
            "correction_of": self.correction_of,
            "operators": list(self.operators),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "ended_at": self.ended_at.isoformat(),
            "materials_consumed": [m.as_json() for m in self.materials_consumed],
            "produced": list(self.produced),
        }
        if self.holds:
            out["holds"] = [dict(h) for h in self.holds]
        if self.disposition is not None:
            out["disposition"] = dict(self.disposition)
        return out
