"""Performance tables: state intervals, the consumer's position per work unit, downtime events,
shift calendar versions and the figures pre-aggregated per work unit and period."""

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from mes.core.clock import utcnow


class StateInterval(SQLModel, table=True):
    """A closed span [start, end) of one work unit in one state."""

    __tablename__ = "perf_state_interval"
    __table_args__ = (
        UniqueConstraint("work_unit", "start"),
        Index("ix_perf_state_interval_unit_end", "work_unit", "end"),
    )

    id: int | None = Field(default=None, primary_key=True)
    work_unit: str = Field(max_length=64)
    start: datetime
    end: datetime
    state: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=64)


class WorkUnitCursor(SQLModel, table=True):
    """Where the interval builder of a work unit stands (restored after a restart): the open
    interval, the last input time, the last time the agent was heard, the latest tag values."""

    __tablename__ = "perf_cursor"

    work_unit: str = Field(primary_key=True, max_length=64)
    open_start: datetime
    open_state: str = Field(max_length=16)
    open_reason: str | None = Field(default=None, max_length=64)
    now: datetime
    heard: datetime
    last_message: datetime | None = Field(default=None, description="newest message applied")
    online: bool = True
    readings_json: str = "{}"
    job_status: str = Field(default="none", max_length=16)
    job_reason: str | None = Field(default=None, max_length=64)


class DowntimeEvent(SQLModel, table=True):
    """A stop of a work unit, opened and closed from its states; `end` None while open."""

    __tablename__ = "perf_downtime"
    __table_args__ = (
        UniqueConstraint("work_unit", "start"),
        Index("ix_perf_downtime_unit_end", "work_unit", "end"),
        # the dashboard's downtime over all units in a period
        Index("ix_perf_downtime_start", "start"),
        Index("ix_perf_downtime_end", "end"),
    )

    id: int | None = Field(default=None, primary_key=True)
    work_unit: str = Field(max_length=64)
    start: datetime
    end: datetime | None = None
    state: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=32)
    reason_by: str | None = Field(default=None, max_length=64)
    reason_at: datetime | None = None


class CalendarVersionRecord(SQLModel, table=True):
    """A shift calendar version of a work centre, from `valid_from` on (forward only)."""

    __tablename__ = "perf_calendar_version"
    __table_args__ = (UniqueConstraint("work_centre", "valid_from"),)

    id: int | None = Field(default=None, primary_key=True)
    work_centre: str = Field(max_length=64, index=True)
    valid_from: datetime
    body_json: str
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class PeriodFigures(SQLModel, table=True):
    """The time model of one work unit over one period (a shift, or the time between shifts),
    pre-aggregated when the period closes: columns named as `TimeModel.as_record()`."""

    __tablename__ = "perf_period_figures"
    __table_args__ = (
        UniqueConstraint("work_unit", "start"),
        Index("ix_perf_period_figures_start", "start", "end"),
    )

    id: int | None = Field(default=None, primary_key=True)
    work_unit: str = Field(max_length=64)
    work_centre: str | None = Field(default=None, max_length=64, index=True)
    line: str = Field(max_length=255, index=True)
    start: datetime
    end: datetime
    shift: str | None = Field(default=None, max_length=64)
    pot_s: float = 0.0
    pdt_s: float = 0.0
    apt_s: float = 0.0
    asut_s: float = 0.0
    adet_fault_s: float = 0.0
    adet_micro_stop_s: float = 0.0
    adet_idle_s: float = 0.0
    adot_s: float = 0.0
    unknown_s: float = 0.0
    ttr_s: float = 0.0
    failures: int = 0
    processing_in_pdt_s: float = 0.0
    processing_outside_shifts_s: float = 0.0
    produced: int = 0
    good: int = 0
    scrap: int = 0
    rework: int = 0
    planned: int = 0
    inspected: int = 0
    first_pass_good: int = 0
    ideal_time_s: float = 0.0
