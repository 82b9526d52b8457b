"""Tables of the reporting front doors: station state, logins and the scan log."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from mes.core.clock import utcnow


class StationState(SQLModel, table=True):
    """What a workstation is doing: the selected job and the last code it saw (debounce)."""

    __tablename__ = "station_state"

    station: str = Field(primary_key=True, max_length=64)
    work_order: str | None = Field(default=None, max_length=64)
    operation: str | None = Field(default=None, max_length=16)
    #: A reason scanned with RSN:, used by the next pause.
    reason: str | None = Field(default=None, max_length=64)
    last_code: str | None = Field(default=None, max_length=200)
    last_code_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class StationLogin(SQLModel, table=True):
    """An operator logged in at a station; several may be logged in at once."""

    __tablename__ = "station_login"

    station: str = Field(primary_key=True, max_length=64)
    badge: str = Field(primary_key=True, max_length=64)
    logged_in_at: datetime = Field(default_factory=utcnow)


class ScanRecord(SQLModel, table=True):
    """Every scan and button press as received, with the answer given (idempotency by event)."""

    __tablename__ = "scan_log"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=64, unique=True)
    station: str = Field(max_length=64, index=True)
    #: the raw scanned text, or `button:<action>` for tablet buttons
    code: str = Field(max_length=4096)
    source: str = Field(default="scan", max_length=8)
    actor: str = Field(max_length=80)
    scanned_at: datetime | None = None
    received_at: datetime = Field(default_factory=utcnow)
    accepted: bool
    status: int
    action: str | None = Field(default=None, max_length=40)
    error_code: str | None = Field(default=None, max_length=40)
    #: the JSON answer returned, replayed verbatim on a resend
    answer: str
