"""Bring the master-data tables in line with the plant file (run at MES start)."""

from sqlmodel import Session, col, delete, select

from config.plant import PlantConfig
from mes.masterdata.models import (
    Product,
    Routing,
    RoutingComponent,
    RoutingOperation,
    Workstation,
)


def sync_master_data(session: Session, cfg: PlantConfig) -> None:
    """Upsert products and workstations; rewrite routings. Nothing is deleted that history uses:
    work orders copy their operations at release, so rewriting a routing never changes them."""
    for p in cfg.products:
        session.merge(Product(code=p.code, name=p.name, unit=p.unit))
    for w in cfg.workstations:
        session.merge(Workstation(id=w.id, name=w.name, path=w.path, work_centre=w.work_centre))
    session.flush()
    for rt in cfg.routings:
        old_ops = select(RoutingOperation.id).where(RoutingOperation.routing_id == rt.id)
        session.exec(
            delete(RoutingComponent).where(col(RoutingComponent.routing_operation_id).in_(old_ops))
        )
        session.exec(delete(RoutingOperation).where(col(RoutingOperation.routing_id) == rt.id))
        session.merge(Routing(id=rt.id, product=rt.product))
        session.flush()
        for seq, op in enumerate(rt.operations):
            row = RoutingOperation(
                routing_id=rt.id,
                seq=seq,
                number=op.number,
                name=op.name,
                workstation=op.workstation,
                work_centre=op.work_centre,
                cycle_time_s=op.cycle_time_s,
                setup_time_s=op.setup_time_s,
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            for comp in op.components:
                session.add(
                    RoutingComponent(
                        routing_operation_id=row.id,
                        product=comp.product,
                        quantity_per_unit=comp.quantity_per_unit,
                        unit=comp.unit,
                    )
                )
    session.flush()
