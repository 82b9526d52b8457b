"""Material stock from the ERP (`_erp/stock`): on hand and expected receipts per material."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from mes.core.clock import utcnow


class MaterialStock(SQLModel, table=True):
    """What the ERP last said about one material: its stock on hand at `as_of`."""

    __tablename__ = "material_stock"

    material: str = Field(primary_key=True, max_length=64)
    unit: str = Field(default="pcs", max_length=16)
    on_hand: float
    as_of: datetime
    message_id: str = Field(max_length=128)
    updated_at: datetime = Field(default_factory=utcnow)


class MaterialReceipt(SQLModel, table=True):
    """An expected receipt of a material (replaced with each stock message naming it)."""

    __tablename__ = "material_receipt"

    id: int | None = Field(default=None, primary_key=True)
    material: str = Field(foreign_key="material_stock.material", max_length=64, index=True)
    expected_at: datetime
    quantity: float
    reference: str | None = Field(default=None, max_length=64)
