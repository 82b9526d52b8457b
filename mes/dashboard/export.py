"""The delivery report as CSV (csv module) and XLSX (openpyxl): one row per order, the
timestamps in the plant's time zone."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

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
    *(f"{c.value}_h" for c in Cause),
)
#: the hours each cause cost a late order (empty for an order on time)
CAUSE_COLUMNS = {f"{c.value}_h": c.value for c in Cause}
TIMES = ("released_at", "started_at", "completed_at", "due")


def _values(row: DeliveryRow, zone: ZoneInfo) -> list[object]:
    out: list[object] = []
    for name in COLUMNS:
        if name in CAUSE_COLUMNS:
            value: object = row.contributions_h.get(CAUSE_COLUMNS[name])
        else:
            value = getattr(row, name)
        if isinstance(value, datetime):
            value = value.astimezone(zone).replace(tzinfo=None)
        if isinstance(value, float):
            value = round(value, 3)
        out.append(value)
    return out


def to_csv(rows: Sequence[DeliveryRow], timezone: str) -> bytes:
    """UTF-8 with a byte order mark, so that a spreadsheet opens Chinese product names right."""
    zone = ZoneInfo(timezone)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            v.isoformat(sep=" ") if isinstance(v, datetime) else ("" if v is None else v)
            for v in _values(row, zone)
        )
    return ("\ufeff" + out.getvalue()).encode()


def to_xlsx(rows: Sequence[DeliveryRow], timezone: str) -> bytes:
    from openpyxl import Workbook

    zone = ZoneInfo(timezone)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("delivery")
    sheet.append([f"{c} ({timezone})" if c in TIMES else c for c in COLUMNS])
    for row in rows:
        sheet.append(_values(row, zone))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
