"""Pre-aggregated period figures answer exactly what the raw intervals answer; `_mes/kpi`
messages are queued in the outbox, one per work unit and closed shift."""

from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import mes.outbox.models  # noqa: F401  (registers the table)
from mes.outbox.models import OutboxMessage
from mes.performance.calendars import calendar_for
from mes.performance.figures import close_periods, range_model, raw_model
from mes.performance.ingest import StateBatch
from mes.performance.kpi import aggregate
from tests.performance.adapters import PRESS, T0, consumer, feed_press, mes_db, plant, press, s


def test_stored_periods_equal_the_raw_intervals(engine: Engine) -> None:
    cfg = plant()
    cons = consumer(engine, cfg)
    # 08:00 .. 16:00 UTC: running, faults, idle, through the 10:00 break and the 14:00 shift end
    at, states = T0, []
    for k in range(8 * 60):
        states.append((at + s(60 * k), [1, 1, 1, 2, 1, 0, 1][k % 7]))
    feed_press(engine, cons, *states)
    end = T0 + s(8 * 3600)
    unit = cons.units["ws-10"]
    with Session(engine) as session:
        calendar = calendar_for(session, cfg, unit.work_centre)
        raw = raw_model(session, unit, calendar, T0, end)
        rows = close_periods(session, cfg, [unit], end)
        shifts = [r.shift for r in rows]
        session.commit()
    assert shifts == ["early"]  # 06:00-14:00 closed; the late shift is open
    with Session(engine) as session:
        stored = range_model(session, cfg, [unit], T0, end)
        kpi = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "kpi")).all()
    assert stored == raw
    assert stored.apt > s(0)
    assert stored.adet > s(0)
    assert stored.pdt + stored.processing_in_pdt == s(30 * 60)
    assert len(kpi) == 1
    assert '"work_unit":"ws-10"' in kpi[0].payload


def test_a_range_sums_its_buckets(tmp_path: Path) -> None:
    engine = mes_db(tmp_path)
    cfg = plant()
    cons = consumer(engine, cfg)
    with Session(engine) as session:
        batch = StateBatch(session, cons.units)
        for k in range(200):
            cons.handle(batch, PRESS, press(T0 + s(90 * k), k % 3, fault=k % 3 == 2))
        batch.finish()
        session.commit()
    unit = cons.units["ws-10"]
    cut = datetime(2026, 3, 3, 10, 17, tzinfo=T0.tzinfo)
    end = T0 + s(200 * 90)
    with Session(engine) as session:
        whole = range_model(session, cfg, [unit], T0, end)
        parts = aggregate(
            [
                range_model(session, cfg, [unit], T0, cut),
                range_model(session, cfg, [unit], cut, end),
            ]
        )
    assert whole == parts


def test_a_stop_that_closes_as_micro_stop_recomputes_the_stored_period(tmp_path: Path) -> None:
    """The early shift ends (14:00) during a stop; the period is stored with it as a fault;
    the stop then ends after 40 s: a micro-stop. The stored period is dropped and stored again,
    equal to the raw intervals, and its `_mes/kpi` is sent again."""
    engine = mes_db(tmp_path)
    cfg = plant()
    cons = consumer(engine, cfg)
    unit = cons.units["ws-10"]
    end_of_early = datetime(2026, 3, 3, 14, 0, tzinfo=T0.tzinfo)
    stop = end_of_early - s(20)

    def feed(*states: tuple[datetime, int]) -> None:
        feed_press(engine, cons, *states)

    feed(*[(end_of_early - s(3600) + s(60 * k), 1) for k in range(60)], (stop, 2))
    feed((end_of_early + s(10), 2))  # the fault still going after the shift end
    with Session(engine) as session:
        first = close_periods(session, cfg, [unit], end_of_early + s(10))
        assert [r.adet_fault_s for r in first if r.shift == "early"] == [20.0]
        session.commit()
    feed((stop + s(40), 1), (stop + s(100), 1))  # 40 s: a micro-stop
    with Session(engine) as session:
        again = close_periods(session, cfg, [unit], stop + s(100))
        assert [(r.adet_fault_s, r.adet_micro_stop_s) for r in again if r.shift == "early"] == [
            (0.0, 20.0)
        ]
        session.commit()
    with Session(engine) as session:
        calendar = calendar_for(session, cfg, unit.work_centre)
        early_start = end_of_early - s(8 * 3600)
        raw = raw_model(session, unit, calendar, early_start, end_of_early)
        assert range_model(session, cfg, [unit], early_start, end_of_early) == raw
        kpi = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "kpi")).all()
    assert len(kpi) == 2
