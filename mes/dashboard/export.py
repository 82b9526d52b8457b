"""The delivery report as CSV (csv module) and XLSX (`mes.dashboard.xlsx`): one row per order,
the timestamps in the plant's time zone.

The hold and downtime contributions to a late order's lateness are its `hold_h` and
`downtime_h` (figures.contributions): the files carry only the other two contributions,
`late_release_h` and `quantity_change_h` (empty for an order on time)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from mes.dashboard import xlsx
from mes.dashboard.delivery import DeliveryRow
from mes.dashboard.figures import Cause

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COLUMNS = (
    "work_order",
    "erp_id",
    "product",
    "quantity",
    "state",
    "released_at",
    "started_at",
    "completed_at",
    "due",
    "lateness_h",
    "lead_time_h",
    "queue_h",
    "run_h",
    "hold_h",
    "downtime_h",
    "cause",
    "late_release_h",
    "quantity_change_h",
)
TIMES = ("released_at", "started_at", "completed_at", "due")
#: XLSX column widths in characters (work order .. cause, the two contributions)
WIDTHS = (12, 12, 14, 9, 11, 17, 17, 17, 17, *(11,) * 6, 16, 15, 18)
_LATE_RELEASE, _QUANTITY_CHANGE = Cause.LATE_RELEASE.value, Cause.QUANTITY_CHANGE.value


def _h(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _as_is(value: float | None) -> float | None:
    return value


def _values(
    rows: Sequence[DeliveryRow], zone: ZoneInfo | None, hours: Callable[[float | None], Any] = _h
) -> Iterator[tuple[object, ...]]:
    """Each row's values in the order of COLUMNS: times as the plant's wall clock (naive),
    or as they are (aware, UTC) without a `zone`; hours through `hours` (3 decimals)."""

    def local(at: datetime | None) -> datetime | None:
        if at is None or zone is None:
            return at
        return at.astimezone(zone).replace(tzinfo=None)

    for r in rows:
        c = r.contributions_h
        yield (
            r.work_order,
            r.erp_id,
            r.product,
            r.quantity,
            r.state,
            local(r.released_at),
            local(r.started_at),
            local(r.completed_at),
            local(r.due),
            hours(r.lateness_h),
            hours(r.lead_time_h),
            hours(r.queue_h),
            hours(r.run_h),
            hours(r.hold_h),
            hours(r.downtime_h),
            r.cause,
            hours(c.get(_LATE_RELEASE)),
            hours(c.get(_QUANTITY_CHANGE)),
        )


def to_csv(rows: Sequence[DeliveryRow], timezone: str) -> bytes:
    """UTF-8 with a byte order mark, so that a spreadsheet opens Chinese product names right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for values in _values(rows, ZoneInfo(timezone)):
        writer.writerow(
            v.isoformat(sep=" ") if isinstance(v, datetime) else ("" if v is None else v)
            for v in values
        )
    return ("\ufeff" + out.getvalue()).encode()


def to_xlsx(rows: Sequence[DeliveryRow], timezone: str) -> bytes:
    """Times as Excel dates (the time zone named in their headers), hours and quantities as
    numbers, a frozen header row with an autofilter."""
    header = [f"{c} ({timezone})" if c in TIMES else c for c in COLUMNS]
    # the writer turns the UTC times into the zone's dates itself (cheaper than a local
    # datetime per value); the hours as the report has them (to the microhour)
    values = _values(rows, None, _as_is)
    return xlsx.workbook("delivery", header, values, WIDTHS, zone=ZoneInfo(timezone))
