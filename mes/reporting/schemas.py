"""Request and answer bodies of the station API (scans and tablet buttons), with examples."""

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from mes.api.types import Text

_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _plausible(value: datetime) -> datetime:
    """In UTC, and within 2000..2100: a station clock outside that is broken, not a time."""
    if not _EARLIEST <= value <= _LATEST:
        raise ValueError("must be between 2000-01-01 and 2100-01-01 (check the station clock)")
    return value.astimezone(UTC)


#: A timestamp from a station or tablet clock.
StationTime = Annotated[AwareDatetime, AfterValidator(_plausible)]

EVENT_ID = Field(
    min_length=1,
    max_length=64,
    pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
    description="client-made unique id (a UUID); a resend with the same id changes nothing",
    examples=["3f0c2a8e-8a51-4c0e-9d8a-2b1f4f0a9e11"],
)
STATION = Field(
    min_length=1, max_length=64, pattern=r"^[a-zA-Z0-9-][a-zA-Z0-9_-]*$", examples=["ws-20"]
)


class ScanIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "station": "ws-20",
                    "code": "QTY:40",
                    "event_id": "3f0c2a8e-8a51-4c0e-9d8a-2b1f4f0a9e11",
                    "scanned_at": "2026-11-25T10:15:02.120Z",
                }
            ]
        },
    )

    station: str = STATION  # the patterns refuse NUL: no validator on the hot path
    code: str = Field(max_length=4096, description="the raw scanned text", examples=["QTY:40"])
    event_id: str = EVENT_ID
    scanned_at: StationTime | None = Field(
        default=None, description="when the scan happened at the station (debounce, replay)"
    )


class OperatorOut(BaseModel):
    badge: str
    name: str


class StationStateOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "station": "ws-20",
                    "operators": [{"badge": "E1042", "name": "Ana Silva"}],
                    "work_order": "WO-000123",
                    "operation": "0020",
                    "pending_reason": None,
                    "job": {"status": "RUNNING", "quantity": 500, "good": 40, "scrap": 2},
                }
            ]
        }
    )

    station: str
    operators: list[OperatorOut]
    work_order: str | None
    operation: str | None
    pending_reason: str | None = None
    job: dict[str, Any] | None = None


class ScanAccepted(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "accepted": True,
                    "action": "operation.start",
                    "message": "Started WO-000123 / 0020",
                    "station_state": {
                        "station": "ws-20",
                        "operators": [{"badge": "E1042", "name": "Ana Silva"}],
                        "work_order": "WO-000123",
                        "operation": "0020",
                    },
                }
            ]
        }
    )

    accepted: bool = True
    action: str
    message: str
    station_state: StationStateOut
    production_event: int | None = Field(
        default=None,
        description="extension: id of the production event the scan recorded (what "
        "`POST /api/v1/corrections` names); absent when it recorded none",
    )


class RefusalOut(BaseModel):
    code: str = Field(examples=["WORK_ORDER_HELD"])
    message: str = Field(
        examples=["WO-000123 is held: oven temperature excursion (hold H-17)"],
    )
    text: str | None = Field(
        default=None,
        description="extension: what the operator should do next, in the answer's language "
        "(`Accept-Language`, else the station's configured language, else en; see "
        "`Content-Language`)",
        examples=["This work order is on hold. Do not produce; call the quality team."],
    )


class ScanRefused(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "accepted": False,
                    "error": {
                        "code": "WORK_ORDER_HELD",
                        "message": "WO-000123 is held: oven temperature excursion (hold H-17)",
                    },
                }
            ]
        }
    )

    accepted: bool = False
    error: RefusalOut
    station_state: StationStateOut | None = None


class ButtonIn(BaseModel):
    """Common to every tablet button: an optional event_id makes a retry safe."""

    model_config = ConfigDict(extra="forbid")

    event_id: Text | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
        description="client-made unique id; give one so that a retried press changes nothing",
    )
    pressed_at: StationTime | None = None


class BadgeIn(ButtonIn):
    badge: Text = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    pin: str | None = Field(default=None, pattern=r"^\d{4,12}$", description="when set for them")


class LogoutIn(ButtonIn):
    badge: Text | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="omit to log out everyone at the station",
    )


class JobIn(ButtonIn):
    work_order: Text = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", examples=["WO-000123"]
    )
    operation: Text | None = Field(
        default=None, min_length=1, max_length=16, pattern=r"^[A-Za-z0-9]+$", examples=["0020"]
    )


REASON = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class PauseIn(ButtonIn):
    reason: Text | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
    )


class QuantityIn(ButtonIn):
    quantity: int = Field(ge=1, le=1_000_000, examples=[40])


class ScrapIn(ButtonIn):
    quantity: int = Field(ge=1, le=1_000_000, examples=[2])
    reason: Text = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", examples=["BURR"]
    )


class InspectionIn(ButtonIn):
    """Extension: one inspection result (as `INSP:<characteristic>:<value>`)."""

    characteristic: Text = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", examples=["hole_dia"]
    )
    value: float | bool = Field(
        description="a number for a variable, true/false for a pass/fail attribute",
        examples=[8.02, True],
    )


class MaterialIn(ButtonIn):
    gtin: Text | None = Field(default=None, pattern=r"^\d{8,14}$", examples=["09506000134352"])
    lot: Text | None = Field(default=None, min_length=1, max_length=20, examples=["L2311-07"])
    serial: Text | None = Field(default=None, min_length=1, max_length=20)
    count: int | None = Field(default=None, ge=1, le=1_000_000, examples=[12])
    product: Text | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        examples=["STEEL-2MM"],
        description="the component's product code, when no GTIN is given",
    )


class ScanLogEntry(BaseModel):
    event_id: str
    production_event: int | None = Field(
        default=None, description="extension: the production event the scan recorded"
    )
    code: str
    source: str
    actor: str
    scanned_at: Any
    received_at: Any
    accepted: bool
    action: str | None
    error_code: str | None
