"""Lots, serials and genealogy links: recording them and tracing forward and backward.

Links are kept at work-order level: every unit produced on a work order is linked to every lot
or serial consumed on that order before it was built; a lot consumed later is linked to the
order's produced *lots* (not to serials, which were already finished). Tracing therefore never
misses a unit, which is what a recall needs.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from mes.core.batch import memo
from mes.core.errors import Refusal, RefusalCode
from mes.masterdata.models import Product
from mes.orders.models import Operation, WorkOrder
from mes.production.models import Consumption, GenealogyLink, Lot, ProductionEvent


class MaterialScan(Protocol):
    @property
    def gtin(self) -> str | None: ...
    @property
    def lot(self) -> str | None: ...
    @property
    def serial(self) -> str | None: ...
    @property
    def expiry(self) -> str | None: ...


def resolve_product(
    session: Session, op: Operation, product: str | None, gtin: str | None
) -> tuple[str, str]:
    """The consumed product: as given; else the operation's only BOM component; else the GTIN."""
    components: list[dict[str, Any]] = json.loads(op.components_json)
    if product is None and len(components) == 1:
        product = str(components[0]["product"])
    if product is None:
        if gtin is None:
            raise Refusal(
                RefusalCode.INVALID_QUANTITY, "a material scan needs a GTIN (01) or a product"
            )
        return gtin, "pcs"
    for c in components:
        if c["product"] == product:
            return product, str(c.get("unit") or "pcs")
    known = session.get(Product, product)
    return product, known.unit if known else "pcs"


def _lot(session: Session, product: str, kind: str, code: str, **fields: Any) -> tuple[Lot, bool]:
    rows = memo(session)
    key = ("lot", product, kind, code)
    found = rows.get(key) if rows is not None else None
    if found is None:
        found = session.exec(
            select(Lot).where(Lot.product == product, Lot.kind == kind, Lot.code == code)
        ).first()
    if found is not None:
        if rows is not None:
            rows[key] = found
        return found, False
    lot = Lot(product=product, kind=kind, code=code, **fields)
    session.add(lot)
    session.flush()
    if rows is not None:
        rows[key] = lot
    return lot, True


def _event_id(session: Session, ev: ProductionEvent) -> int:
    if ev.id is None:  # a batch flushes its events only when an id is needed
        session.flush()
    assert ev.id is not None
    return ev.id


def _link(
    session: Session, parent: Lot, children: Sequence[Lot], wo_id: int, event_id: int
) -> None:
    """Link `children` into `parent`, skipping links that exist (one query per parent)."""
    assert parent.id is not None
    if not children:
        return
    have = set(
        session.exec(
            select(GenealogyLink.child_lot_id).where(GenealogyLink.parent_lot_id == parent.id)
        ).all()
    )
    for child in children:
        assert child.id is not None
        if child.id not in have and child.id != parent.id:
            have.add(child.id)
            session.add(
                GenealogyLink(
                    parent_lot_id=parent.id,
                    child_lot_id=child.id,
                    work_order_id=wo_id,
                    event_id=event_id,
                )
            )


def consume(
    session: Session,
    wo: WorkOrder,
    op: Operation,
    ev: ProductionEvent,
    product: str,
    material: MaterialScan,
    quantity: float,
    unit: str,
) -> Lot:
    assert wo.id is not None
    assert op.id is not None
    event_id = _event_id(session, ev)
    kind, code = ("serial", material.serial) if material.serial else ("lot", material.lot)
    assert code is not None
    lot, _ = _lot(
        session, product, kind, code, gtin=material.gtin, unit=unit, expiry=material.expiry
    )
    assert lot.id is not None
    session.add(
        Consumption(
            event_id=event_id,
            work_order_id=wo.id,
            operation_id=op.id,
            lot_id=lot.id,
            quantity=quantity,
            unit=unit,
        )
    )
    rows = memo(session)
    if rows is not None:
        rows.pop(("consumed", wo.id), None)
    made_lots = session.exec(select(Lot).where(Lot.work_order_id == wo.id, Lot.kind == "lot")).all()
    for parent in made_lots:
        _link(session, parent, [lot], wo.id, event_id)
    return lot


def produce(
    session: Session,
    wo: WorkOrder,
    op: Operation,
    ev: ProductionEvent,
    units: Sequence[tuple[str, str, int]],
) -> list[dict[str, Any]]:
    """Record produced lots/serials `(code, kind, quantity)`; returns the confirmation lines."""
    assert wo.id is not None
    if not units:
        return []
    consumed = _consumed(session, wo.id)
    lines: list[dict[str, Any]] = []
    for code, kind, quantity in units:
        if kind not in ("lot", "serial"):
            raise Refusal(
                RefusalCode.INVALID_QUANTITY, f"produced unit kind must be lot or serial: {kind}"
            )
        if kind == "serial" and quantity != 1:
            raise Refusal(RefusalCode.INVALID_QUANTITY, f"serial {code} must have quantity 1")
        lot, new = _lot(session, wo.product, kind, code, unit=wo.unit, work_order_id=wo.id)
        if kind == "serial" and not new:
            raise Refusal(
                RefusalCode.INVALID_QUANTITY, f"serial {code} of {wo.product} already exists"
            )
        if consumed:
            _link(session, lot, consumed, wo.id, _event_id(session, ev))
        lines.append({kind: code, "quantity": quantity})
    return lines


# built once: a batch reuses the statements and their cache keys
_PRODUCED = select(Lot).where(col(Lot.work_order_id).in_(bindparam("ids", expanding=True)))
_CONSUMED = (
    select(Consumption.work_order_id, Lot)
    .join(Lot, col(Lot.id) == Consumption.lot_id)
    .where(col(Consumption.work_order_id).in_(bindparam("ids", expanding=True)))
    .distinct()
)


def prefetch(session: Session, work_order_ids: Sequence[int]) -> None:
    """Into the batch memo: the lots these work orders produced and consumed."""
    rows = memo(session)
    if rows is None or not work_order_ids:
        return
    ids = {"ids": list(work_order_ids)}
    for lot in session.exec(_PRODUCED, params=ids):
        rows[("lot", lot.product, lot.kind, lot.code)] = lot
    consumed: dict[int, list[Lot]] = {i: [] for i in work_order_ids}
    for wo_id, lot in session.exec(_CONSUMED, params=ids):
        consumed[wo_id].append(lot)
    for wo_id, lots in consumed.items():
        rows[("consumed", wo_id)] = lots


def _consumed(session: Session, wo_id: int) -> list[Lot]:
    """The lots and serials consumed on a work order so far."""
    rows = memo(session)
    if rows is not None and ("consumed", wo_id) in rows:
        cached: list[Lot] = rows[("consumed", wo_id)]
        return cached
    ids = set(
        session.exec(select(Consumption.lot_id).where(Consumption.work_order_id == wo_id)).all()
    )
    lots = list(session.exec(select(Lot).where(col(Lot.id).in_(ids))).all()) if ids else []
    if rows is not None:
        rows[("consumed", wo_id)] = lots
    return lots


@dataclass(frozen=True, slots=True)
class TraceNode:
    kind: str
    code: str
    product: str
    work_order: str | None
    depth: int

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "code": self.code,
            "product": self.product,
            "work_order": self.work_order,
            "depth": self.depth,
        }


def find_lots(session: Session, code: str, product: str | None = None) -> list[Lot]:
    q = select(Lot).where(Lot.code == code)
    if product:
        q = q.where(Lot.product == product)
    return list(session.exec(q).all())


def _trace(session: Session, start: list[Lot], forward: bool, max_depth: int) -> list[TraceNode]:
    seen: set[int] = {lot.id for lot in start if lot.id is not None}
    frontier = list(seen)
    out: list[TraceNode] = []
    numbers: dict[int, str | None] = {}
    depth = 0
    while frontier and depth < max_depth:
        depth += 1
        if forward:
            q = select(GenealogyLink.parent_lot_id).where(
                col(GenealogyLink.child_lot_id).in_(frontier)
            )
        else:
            q = select(GenealogyLink.child_lot_id).where(
                col(GenealogyLink.parent_lot_id).in_(frontier)
            )
        ids = {i for i in session.exec(q).all() if i not in seen}
        seen |= ids
        frontier = sorted(ids)
        if not ids:
            break
        for lot in session.exec(select(Lot).where(col(Lot.id).in_(ids)).order_by(col(Lot.id))):
            if lot.work_order_id is not None and lot.work_order_id not in numbers:
                wo = session.get(WorkOrder, lot.work_order_id)
                numbers[lot.work_order_id] = wo.number if wo else None
            number = numbers.get(lot.work_order_id) if lot.work_order_id else None
            out.append(TraceNode(lot.kind, lot.code, lot.product, number, depth))
    return out


def trace_forward(
    session: Session, code: str, product: str | None = None, max_depth: int = 20
) -> list[TraceNode]:
    """Every lot or serial that contains lot/serial `code`, at any depth."""
    return _trace(session, find_lots(session, code, product), True, max_depth)


def trace_backward(
    session: Session, code: str, product: str | None = None, max_depth: int = 20
) -> list[TraceNode]:
    """Everything that went into lot/serial `code`, at any depth."""
    return _trace(session, find_lots(session, code, product), False, max_depth)
