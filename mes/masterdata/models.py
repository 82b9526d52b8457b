"""Master data synced from the plant file: products, workstations, routings and their BOMs."""

from sqlmodel import Field, SQLModel, UniqueConstraint


class Product(SQLModel, table=True):
    __tablename__ = "product"

    code: str = Field(primary_key=True, max_length=64)
    name: str | None = None
    unit: str = Field(default="pcs", max_length=16)


class Workstation(SQLModel, table=True):
    __tablename__ = "workstation"

    id: str = Field(primary_key=True, max_length=64)
    name: str | None = None
    path: str = Field(max_length=200)
    work_centre: str | None = Field(default=None, max_length=64, index=True)


class Routing(SQLModel, table=True):
    __tablename__ = "routing"

    id: str = Field(primary_key=True, max_length=64)
    product: str = Field(foreign_key="product.code", max_length=64)


class RoutingOperation(SQLModel, table=True):
    __tablename__ = "routing_operation"
    __table_args__ = (UniqueConstraint("routing_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    routing_id: str = Field(foreign_key="routing.id", max_length=64, index=True)
    seq: int
    number: str = Field(max_length=4)
    name: str
    workstation: str | None = Field(default=None, max_length=64)
    work_centre: str | None = Field(default=None, max_length=64)
    cycle_time_s: float
    setup_time_s: float = 0.0


class RoutingComponent(SQLModel, table=True):
    """A BOM line consumed at one routing operation."""

    __tablename__ = "routing_component"

    id: int | None = Field(default=None, primary_key=True)
    routing_operation_id: int = Field(foreign_key="routing_operation.id", index=True)
    product: str = Field(max_length=64)
    quantity_per_unit: float
    unit: str = Field(default="pcs", max_length=16)
