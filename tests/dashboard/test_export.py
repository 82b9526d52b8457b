"""The delivery report files (pure): the XLSX writer read back with openpyxl (real dates,
numbers, text, frozen header) and the export columns (one per figure, none repeated)."""

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from mes.dashboard import export, xlsx
from mes.dashboard.delivery import DeliveryRow


def _row(**changes: object) -> DeliveryRow:
    base: dict[str, object] = {
        "work_order": "WO-000001",
        "erp_id": "PO-1",
        "product": '支架 <L> & "R"',
        "quantity": 100.0,
        "state": "COMPLETED",
        "released_at": datetime(2026, 11, 2, 0, 0, tzinfo=UTC),
        "started_at": datetime(2026, 11, 2, 1, 30, tzinfo=UTC),
        "completed_at": datetime(2026, 11, 3, 6, 0, tzinfo=UTC),
        "due": datetime(2026, 11, 3, 8, 0, tzinfo=UTC),
        "lateness_h": -2.0,
        "late": False,
        "lead_time_h": 30.0,
        "queue_h": 20.5,
        "run_h": 8.0,
        "hold_h": 0.0,
        "downtime_h": 1.5,
        "cause": None,
        "contributions_h": {},
    }
    return DeliveryRow(**(base | changes))  # type: ignore[arg-type]


LATE = _row(
    work_order="WO-000002",
    product="P-2",
    completed_at=datetime(2026, 11, 4, 8, 0, tzinfo=UTC),
    lateness_h=24.0,
    late=True,
    hold_h=20.0,
    cause="holds",
    contributions_h={"holds": 20.0, "downtime": 1.5, "late_release": 0.25, "quantity_change": 0},
)


def test_csv_columns_are_distinct_and_keep_the_split() -> None:
    """The cause contribution `downtime_h` used to share its header with the split's
    `downtime_h` and overwrite it: an order on time lost its downtime hours."""
    assert len(set(export.COLUMNS)) == len(export.COLUMNS)
    text = export.to_csv([_row(), LATE], "Asia/Shanghai").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["downtime_h"] == "1.5"
    assert rows[0]["released_at"] == "2026-11-02 08:00:00"  # UTC+8
    assert (rows[0]["cause"], rows[0]["late_release_h"]) == ("", "")
    assert (rows[1]["cause"], rows[1]["hold_h"], rows[1]["late_release_h"]) == (
        "holds",
        "20.0",
        "0.25",
    )
    assert rows[1]["quantity_change_h"] == "0"


def test_xlsx_reads_back_with_real_types() -> None:
    book = load_workbook(io.BytesIO(export.to_xlsx([_row(), LATE], "Asia/Shanghai")))
    sheet = book.active
    assert sheet is not None
    assert sheet.title == "delivery"
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:6] == (
        "work_order",
        "erp_id",
        "product",
        "quantity",
        "state",
        "released_at (Asia/Shanghai)",
    )
    first = dict(zip(export.COLUMNS, values[1], strict=True))
    assert first["product"] == '支架 <L> & "R"'
    assert first["quantity"] == 100
    assert first["released_at"] == datetime(2026, 11, 2, 8, 0)
    assert first["started_at"] == datetime(2026, 11, 2, 9, 30)
    assert first["due"] == datetime(2026, 11, 3, 16, 0)
    assert (first["lateness_h"], first["downtime_h"], first["cause"]) == (-2, 1.5, None)
    assert first["late_release_h"] is None
    late = dict(zip(export.COLUMNS, values[2], strict=True))
    assert (late["cause"], late["hold_h"], late["late_release_h"]) == ("holds", 20, 0.25)
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:R3"
    assert sheet["F2"].is_date
    assert sheet["F2"].number_format == "yyyy-mm-dd hh:mm"
    assert sheet["A1"].font.b
    assert not sheet["A2"].font.b
    assert sheet.column_dimensions["F"].width == 17


def test_xlsx_writer_types_and_text() -> None:
    rows: list[list[object]] = [
        [1, 2.5, True, "a\x01b & <c>", None, datetime(1900, 3, 1, 12, 0)],
        [-3, float("nan"), False, "", 7, datetime(2026, 12, 31, 23, 59)],
    ]
    data = xlsx.workbook('sheet "x"', ["i", "f", "b", "s", "n", "d"], rows)
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert sheet.title == 'sheet "x"'
    assert list(sheet.iter_rows(min_row=2, values_only=True)) == [
        (1, 2.5, True, "ab & <c>", None, datetime(1900, 3, 1, 12, 0)),
        (-3, "nan", False, "", 7, datetime(2026, 12, 31, 23, 59)),
    ]
    assert [xlsx.column_letter(i) for i in (0, 25, 26, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "ZZ",
        "AAA",
    ]
    with pytest.raises(ValueError):
        xlsx.workbook("s", ["d"], [[datetime.now(UTC)]])


def test_aware_times_in_a_zone_with_summer_time() -> None:
    """Aware times become the zone's wall clock on either side of a change of offset (the
    offset is cached per quarter hour of UTC)."""
    berlin = ZoneInfo("Europe/Berlin")
    times = [
        datetime(2026, 3, 29, 0, 59, tzinfo=UTC),  # 01:59 CET
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # 03:00 CEST
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 CEST
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # 02:30 CET
    ]
    data = xlsx.workbook("s", ["t"], [[t] for t in times], zone=berlin)
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    read = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert read == [t.astimezone(berlin).replace(tzinfo=None) for t in times]
