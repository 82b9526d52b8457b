"""Production events (append-only), lots/serials, consumption and genealogy links."""

from datetime import datetime

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper
from sqlmodel import Field, SQLModel, UniqueConstraint

from mes.core.clock import utcnow


class ProductionEvent(SQLModel, table=True):
    """What happened on the shop floor. Never updated or deleted: a mistake is undone by a
    compensating event whose `correction_of` names the original."""

    __tablename__ = "production_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    kind: str = Field(max_length=32)
    work_order_id: int = Field(foreign_key="work_order.id", index=True)
    operation_id: int | None = Field(default=None, foreign_key="operation.id", index=True)
    workstation: str | None = Field(default=None, max_length=64)
    operator: str | None = Field(default=None, max_length=64)
    actor: str = Field(max_length=64)
    good: int = 0
    scrap: int = 0
    rework: int = 0
    reason: str | None = Field(default=None, max_length=64)
    detail_json: str = "{}"
    correction_of: int | None = Field(default=None, foreign_key="production_event.id", index=True)
    confirmation_message_id: str | None = Field(default=None, max_length=64)


class Lot(SQLModel, table=True):
    """A lot (quantity of one product) or a serial (one unit); `kind` says which."""

    __tablename__ = "lot"
    __table_args__ = (UniqueConstraint("product", "kind", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=8)
    code: str = Field(max_length=80, index=True)
    product: str = Field(max_length=64)
    gtin: str | None = Field(default=None, max_length=14)
    unit: str = Field(default="pcs", max_length=16)
    expiry: str | None = Field(default=None, max_length=10)
    work_order_id: int | None = Field(default=None, foreign_key="work_order.id")
    created_at: datetime = Field(default_factory=utcnow)


class Consumption(SQLModel, table=True):
    __tablename__ = "consumption"

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="production_event.id", index=True)
    work_order_id: int = Field(foreign_key="work_order.id", index=True)
    operation_id: int = Field(foreign_key="operation.id")
    lot_id: int = Field(foreign_key="lot.id", index=True)
    quantity: float
    unit: str = Field(max_length=16)


class GenealogyLink(SQLModel, table=True):
    """`child` (a consumed lot or serial) went into `parent` (a produced one)."""

    __tablename__ = "genealogy_link"
    __table_args__ = (UniqueConstraint("parent_lot_id", "child_lot_id"),)

    id: int | None = Field(default=None, primary_key=True)
    parent_lot_id: int = Field(foreign_key="lot.id", index=True)
    child_lot_id: int = Field(foreign_key="lot.id", index=True)
    work_order_id: int = Field(foreign_key="work_order.id")
    event_id: int = Field(foreign_key="production_event.id")


class AppendOnlyViolation(Exception):
    pass


def _refuse_change(_mapper: Mapper[ProductionEvent], _conn: Connection, target: object) -> None:
    raise AppendOnlyViolation(
        f"production events are append-only (event {getattr(target, 'id', '?')}): "
        "record a compensating correction instead"
    )


event.listen(ProductionEvent, "before_update", _refuse_change)
event.listen(ProductionEvent, "before_delete", _refuse_change)
