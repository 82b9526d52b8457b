"""The barcode grammar against real-world scanner output (docs/contracts.md section 9)."""

from datetime import date

import pytest

from mes.reporting.grammar import (
    BadgeScan,
    Command,
    CommandScan,
    JobScan,
    MaterialScan,
    Prefixes,
    QuantityScan,
    ReasonScan,
    ScrapScan,
    Unrecognised,
    parse_scan,
)

GTIN = "09506000134352"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("EMP:E1042", BadgeScan("E1042")),
        ("EMP:E1042\r\n", BadgeScan("E1042")),  # wedge adds Enter
        ("EMP:E1042\t", BadgeScan("E1042")),  # wedge configured for Tab
        ("emp:E1042", BadgeScan("E1042")),  # Caps Lock / lower-case labels
        ("  EMP: E1042 ", BadgeScan("E1042")),
        ("]C0EMP:E1042", BadgeScan("E1042")),  # Code 128 with AIM identifier on
        ("]A0EMP:E1042", BadgeScan("E1042")),  # Code 39 with AIM identifier on
        ("WO:WO-000123", JobScan("WO-000123")),
        ("WO:WO-000123/0020", JobScan("WO-000123", "0020")),
        ("wo:wo-000123/0020", JobScan("WO-000123", "0020")),
        ("CMD:START", CommandScan(Command.START)),
        ("CMD:pause", CommandScan(Command.PAUSE)),
        ("CMD:RESUME", CommandScan(Command.RESUME)),
        ("CMD:COMPLETE", CommandScan(Command.COMPLETE)),
        ("CMD:LOGOUT", CommandScan(Command.LOGOUT)),
        ("CMD:UNDO\n", CommandScan(Command.UNDO)),
        ("QTY:1", QuantityScan(1)),
        ("QTY:40", QuantityScan(40)),
        ("QTY:007", QuantityScan(7)),
        ("SCRAP:2:BURR", ScrapScan(2, "BURR")),
        ("SCRAP:2:burr", ScrapScan(2, "BURR")),
        ("RSN:TOOL_CHANGE", ReasonScan("TOOL_CHANGE")),
        ("RSN:mat-short", ReasonScan("MAT-SHORT")),
    ],
)
def test_station_codes(raw: str, expected: object) -> None:
    assert parse_scan(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        # GS1-128 with symbology identifier and the real GS character
        f"]C101{GTIN}10L2311-07\x1d3012",
        # GS1 DataMatrix
        f"]d201{GTIN}10L2311-07\x1d3012",
        # GS1 QR
        f"]Q301{GTIN}10L2311-07\x1d3012",
        # no symbology identifier
        f"01{GTIN}10L2311-07\x1d3012",
        # the printed example with blanks (docs/contracts.md section 9)
        f"]C1 01 {GTIN} 10 L2311-07 \x1d 30 12",
        # keyboard-wedge substitutions for FNC1
        f"01{GTIN}10L2311-07<GS>3012",
        f"01{GTIN}10L2311-07{{GS}}3012",
        f"01{GTIN}10L2311-07^]3012",
        f"01{GTIN}10L2311-07\\x1d3012",
        # leading FNC1 typed as GS after the identifier, trailing Enter
        f"]C1\x1d01{GTIN}10L2311-07\x1d3012\r",
        # human-readable interpretation typed in by hand
        f"(01){GTIN}(10)L2311-07(30)12",
    ],
)
def test_gs1_material_variants(raw: str) -> None:
    intent = parse_scan(raw)
    assert isinstance(intent, MaterialScan), intent
    assert intent.gtin == GTIN
    assert intent.lot == "L2311-07"
    assert intent.count == 12


def test_gs1_serial_and_expiry() -> None:
    intent = parse_scan(f"]d201{GTIN}17261130211234ABC")
    assert isinstance(intent, MaterialScan)
    assert intent.serial == "1234ABC"
    assert intent.expiry == date(2026, 11, 30)
    assert intent.lot is None


def test_gs1_lot_last_needs_no_separator() -> None:
    intent = parse_scan(f"01{GTIN}3012\x1d10L99")
    assert isinstance(intent, MaterialScan)
    assert (intent.lot, intent.count) == ("L99", 12)


def test_plain_gtin_label_is_material() -> None:
    intent = parse_scan("9506000134352")
    assert isinstance(intent, MaterialScan)
    assert intent.gtin == GTIN


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "empty"),
        ("\r\n", "empty"),
        ("hello", "matches no barcode"),
        ("QTY:abc", "not a whole number"),
        ("QTY:0", "at least 1"),
        ("QTY:-3", "not a whole number"),
        ("QTY:1.5", "not a whole number"),
        ("QTY:99999999", "larger than"),
        ("QTY:", "not a whole number"),
        ("SCRAP:2", "scrap needs"),
        ("SCRAP:x:BURR", "not a whole number"),
        ("SCRAP:2:bad reason!", "scrap needs"),
        ("CMD:JUMP", "unknown command"),
        ("EMP:", "not a badge"),
        ("EMP:a b", "not a badge"),
        ("WO:", "WORK-ORDER"),
        ("WO:WO-1/0020/7", "WORK-ORDER"),
        ("RSN:", "not a code"),
        # bad GTIN check digit
        ("0109506000134353", "GS1"),
        (f"]C101{GTIN[:-3]}", "GS1"),
        ("(99)", "GS1"),
        ("\x00\x00", "empty"),
        ("🙂", "matches no barcode"),
        ("x" * 5000, "matches no barcode"),
    ],
)
def test_unrecognised_with_reason(raw: str, why: str) -> None:
    intent = parse_scan(raw)
    assert isinstance(intent, Unrecognised), intent
    assert why in intent.why
    assert len(intent.why) < 200


def test_site_prefixes() -> None:
    site = Prefixes(employee="B#", work_order="JOB#", quantity="GOOD#")
    assert parse_scan("B#4711", site) == BadgeScan("4711")
    assert parse_scan("JOB#WO-9/0010", site) == JobScan("WO-9", "0010")
    assert parse_scan("GOOD#5", site) == QuantityScan(5)
    assert isinstance(parse_scan("EMP:4711", site), Unrecognised)


def test_prefixes_reject_ambiguity_and_blanks() -> None:
    with pytest.raises(ValueError, match="ambiguous"):
        Prefixes(quantity="Q", scrap="QS")
    with pytest.raises(ValueError, match="non-empty"):
        Prefixes(reason="")


def test_badge_with_pin_and_the_pin_masked_for_the_log() -> None:
    """docs/contracts.md: `EMP:<badge>:<pin>` (issue 18); before, a `:` after the badge was
    refused, so no valid scan changes meaning."""
    from mes.reporting.grammar import BadgeScan, Unrecognised, without_pin

    intent = parse_scan("]C0emp:E1042:4711\r\n")
    assert intent == BadgeScan("E1042", pin="4711")
    assert "4711" not in repr(intent)
    assert parse_scan("EMP:E1042") == BadgeScan("E1042")
    for text in ("EMP:E1042:47", "EMP:E1042:47a1", "EMP:E1042:"):
        bad = parse_scan(text)
        assert isinstance(bad, Unrecognised)
        assert "PIN" in bad.why
    assert without_pin("EMP:E1042:4711", intent) == "EMP:E1042:****"
    assert without_pin("EMP:E1042:47", parse_scan("EMP:E1042:47")) == "EMP:E1042:****"
    assert without_pin("QTY:12", parse_scan("QTY:12")) == "QTY:12"
