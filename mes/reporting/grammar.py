"""The barcode grammar (docs/contracts.md section 9): raw scanned text in, one scan intent out.

Pure: no I/O, no framework. `parse_scan(text, prefixes)` never raises on bad input; anything it
cannot read becomes `Unrecognised` with the reason, which the scan handler refuses with
UNKNOWN_BARCODE while keeping the raw text in the station's scan log.
"""

import math
import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

import biip
from biip.gs1_messages import GS1Message
from biip.gtin import Gtin

GS = "\x1d"

#: How keyboard-wedge scanners commonly type the FNC1 / GS separator when the host cannot
#: receive the control character (configurable in most scanners' "substitute GS" setting).
WEDGE_SEPARATORS = ("<GS>", "{GS}", "[GS]", "<gs>", "{gs}", "[gs]", "^]", "\\x1d", "\\x1D", "␝")

#: AIM symbology identifiers that announce GS1 data: GS1-128, GS1 DataMatrix, GS1 QR, DataBar.
GS1_SYMBOLOGIES = ("]C1", "]d2", "]Q3", "]e0", "]J1")
#: Any other AIM identifier (`]` + letter + modifier) is stripped before our own grammar is tried.
_AIM_ID = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
_HRI = re.compile(r"^\(\d{2,4}\)")
_MAX_QUANTITY = 1_000_000


class Command(StrEnum):
    START = "START"
    PAUSE = "PAUSE"
    RESUME = "RESUME"
    COMPLETE = "COMPLETE"
    LOGOUT = "LOGOUT"
    UNDO = "UNDO"


@dataclass(frozen=True)
class Prefixes:
    """The text that introduces each kind of code; sites with existing labels change these."""

    employee: str = "EMP:"
    work_order: str = "WO:"
    command: str = "CMD:"
    quantity: str = "QTY:"
    scrap: str = "SCRAP:"
    reason: str = "RSN:"
    #: extension: an inspection result (docs/alarms-quality.md)
    inspection: str = "INSP:"

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not value or value != value.strip():
                raise ValueError(f"scan prefix {name!r} must be non-empty text, got {value!r}")
        for name, value in vars(self).items():
            clash = [
                o
                for o, v in vars(self).items()
                if o != name and v.upper().startswith(value.upper())
            ]
            if clash:
                raise ValueError(
                    f"scan prefix {name}={value!r} is ambiguous: it also starts {clash[0]}"
                )


DEFAULT_PREFIXES = Prefixes()


@dataclass(frozen=True)
class BadgeScan:
    """`EMP:<badge>`: an operator logs in (or out, when already logged in) at the station."""

    badge: str
    kind: str = "badge"
    #: `EMP:<badge>:<pin>` (docs/contracts.md): needed when the operator has a PIN.
    pin: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class JobScan:
    """`WO:<work order>` or `WO:<work order>/<operation>`: select a job at the station."""

    work_order: str
    operation: str | None = None
    kind: str = "job"


@dataclass(frozen=True)
class CommandScan:
    command: Command
    kind: str = "command"


@dataclass(frozen=True)
class QuantityScan:
    """`QTY:<n>`: n good units on the current operation."""

    quantity: int
    kind: str = "quantity"


@dataclass(frozen=True)
class ScrapScan:
    """`SCRAP:<n>:<reason>`: n scrapped units with a reason code."""

    quantity: int
    reason: str
    kind: str = "scrap"


@dataclass(frozen=True)
class ReasonScan:
    """`RSN:<code>`: a downtime or pause reason."""

    code: str
    kind: str = "reason"


@dataclass(frozen=True)
class InspectionScan:
    """Extension `INSP:<characteristic>:<value>`: one inspection result on the current operation.

    `value` is a number for a variable, True/False for a pass/fail attribute (`PASS`/`FAIL`)."""

    characteristic: str
    value: float | bool
    kind: str = "inspection"


@dataclass(frozen=True)
class MaterialScan:
    """A GS1 element string: material consumed on the current operation."""

    gtin: str | None
    lot: str | None = None
    serial: str | None = None
    expiry: date | None = None
    count: int | None = None
    elements: dict[str, str] = field(default_factory=dict)
    #: set by tablet buttons that pick the product instead of scanning a GTIN
    product: str | None = None
    kind: str = "material"


@dataclass(frozen=True)
class Unrecognised:
    """Text that matches nothing in the grammar; `why` explains it to the operator."""

    why: str
    kind: str = "unknown"


ScanIntent = (
    BadgeScan
    | JobScan
    | CommandScan
    | QuantityScan
    | ScrapScan
    | ReasonScan
    | InspectionScan
    | MaterialScan
    | Unrecognised
)

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_PIN = re.compile(r"^\d{4,12}$")
_BAD_PIN = "the PIN after badge"


def without_pin(text: str, intent: "ScanIntent") -> str:
    """The scanned text as logs may keep it: a PIN after the badge (`EMP:<badge>:<pin>`, also
    a malformed one) masked."""
    pin = intent.pin if isinstance(intent, BadgeScan) else None
    if pin is None and not (isinstance(intent, Unrecognised) and intent.why.startswith(_BAD_PIN)):
        return text
    head, sep, tail = text.rpartition(":")
    rest = tail.lstrip("0123456789")
    return f"{head}{sep}****{rest}" if sep else text


_WORK_ORDER = re.compile(
    r"^(?P<wo>[A-Za-z0-9][A-Za-z0-9._-]{0,63})(?:/(?P<op>[A-Za-z0-9]{1,16}))?$"
)


def clean(raw: str) -> str:
    """What the scanner meant: without the Enter/Tab a wedge adds, NULs, or surrounding blanks."""
    return raw.replace("\x00", "").strip(" \t\r\n")


def parse_scan(raw: str, prefixes: Prefixes = DEFAULT_PREFIXES) -> ScanIntent:
    text = clean(raw)
    if not text:
        return Unrecognised("empty scan")
    if text.startswith(GS1_SYMBOLOGIES):
        return _material(text)
    body = text[3:] if _AIM_ID.match(text) else text
    intent = _prefixed(body, prefixes)
    if intent is not None:
        return intent
    if _looks_like_gs1(body):
        return _material(text)
    return Unrecognised(f"{_shorten(text)!r} matches no barcode this station knows")


def _prefixed(text: str, p: Prefixes) -> ScanIntent | None:
    upper = text.upper()
    if upper.startswith(p.employee.upper()):
        badge, sep, pin = text[len(p.employee) :].strip().partition(":")
        if not _CODE.match(badge):
            return Unrecognised(f"badge {_shorten(badge)!r} is not a badge number")
        if sep and not _PIN.match(pin):
            return Unrecognised(f"{_BAD_PIN} {badge} is not 4 to 12 digits")
        return BadgeScan(badge, pin=pin or None)
    if upper.startswith(p.work_order.upper()):
        m = _WORK_ORDER.match(text[len(p.work_order) :].strip())
        if m is None:
            return Unrecognised(f"{_shorten(text)!r} is not WORK-ORDER or WORK-ORDER/OPERATION")
        return JobScan(m.group("wo").upper(), m.group("op"))
    if upper.startswith(p.command.upper()):
        word = text[len(p.command) :].strip().upper()
        try:
            return CommandScan(Command(word))
        except ValueError:
            known = ", ".join(c.value for c in Command)
            return Unrecognised(f"unknown command {_shorten(word)!r} (known: {known})")
    if upper.startswith(p.scrap.upper()):
        rest = text[len(p.scrap) :].strip()
        qty_text, _, reason = rest.partition(":")
        qty = _quantity(qty_text)
        if isinstance(qty, Unrecognised):
            return qty
        reason = reason.strip().upper()
        if not _CODE.match(reason):
            return Unrecognised(f"scrap needs {p.scrap}<n>:<reason code>, got {_shorten(text)!r}")
        return ScrapScan(qty, reason)
    if upper.startswith(p.quantity.upper()):
        qty = _quantity(text[len(p.quantity) :].strip())
        return qty if isinstance(qty, Unrecognised) else QuantityScan(qty)
    if upper.startswith(p.reason.upper()):
        code = text[len(p.reason) :].strip().upper()
        if not _CODE.match(code):
            return Unrecognised(f"reason code {_shorten(code)!r} is not a code")
        return ReasonScan(code)
    if upper.startswith(p.inspection.upper()):
        return _inspection(text[len(p.inspection) :].strip(), p.inspection)
    return None


_ATTRIBUTE_WORDS = {"PASS": True, "FAIL": False}


def _inspection(rest: str, prefix: str) -> ScanIntent:
    name, sep, value_text = rest.rpartition(":")
    name, value_text = name.strip(), value_text.strip()
    if not sep or not _CODE.match(name):
        return Unrecognised(
            f"inspection needs {prefix}<characteristic>:<value or PASS/FAIL>, "
            f"got {_shorten(prefix + rest)!r}"
        )
    word = value_text.upper()
    if word in _ATTRIBUTE_WORDS:
        return InspectionScan(name, _ATTRIBUTE_WORDS[word])
    try:
        value = float(value_text)
    except ValueError:
        value = math.nan
    if not value_text.isascii() or not math.isfinite(value):
        return Unrecognised(
            f"inspection value {_shorten(value_text)!r} for {name!r} is not a number, PASS or FAIL"
        )
    return InspectionScan(name, value)


def _quantity(text: str) -> int | Unrecognised:
    if not text.isascii() or not text.isdigit():
        return Unrecognised(f"quantity {_shorten(text)!r} is not a whole number")
    value = int(text)
    if value <= 0:
        return Unrecognised("quantity must be at least 1")
    if value > _MAX_QUANTITY:
        return Unrecognised(f"quantity {value} is larger than {_MAX_QUANTITY}")
    return value


def _looks_like_gs1(text: str) -> bool:
    return bool(_HRI.match(text)) or (len(text) >= 4 and text[:2].isdigit())


def _normalise_gs1(text: str) -> str:
    for sep in WEDGE_SEPARATORS:
        text = text.replace(sep, GS)
    # Element strings never contain blanks; printed examples and some wedges add them.
    return "".join(text.split(" ")).strip(GS)


def _material(text: str) -> ScanIntent:
    text = _normalise_gs1(text)
    symbology = ""
    if text.startswith("]"):
        symbology, text = text[:3], text[3:].lstrip(GS)
    try:
        if _HRI.match(text):
            message = GS1Message.parse_hri(text)
        else:
            result = biip.parse(symbology + text)
            if not symbology and text.isdigit() and result.gtin is not None:
                return MaterialScan(gtin=result.gtin.as_gtin_14(), elements={"01": text})
            if result.gs1_message is None:
                why = result.gs1_message_error or "not a GS1 element string"
                return Unrecognised(f"GS1: {why}")
            message = result.gs1_message
    except (ValueError, biip.ParseError) as exc:
        return Unrecognised(f"GS1: {exc}")
    elements = {es.ai.ai: es.value for es in message.element_strings}
    gtin = elements.get("01") or elements.get("02")
    if gtin is not None:
        try:
            Gtin.parse(gtin)
        except biip.ParseError as exc:
            return Unrecognised(f"GS1: {exc}")
    if gtin is None and "10" not in elements and "21" not in elements:
        return Unrecognised("GS1 code carries no GTIN (01), lot (10) or serial (21)")
    expiry = None
    count = None
    for es in message.element_strings:
        if es.ai.ai == "17" and es.date is not None:
            expiry = es.date
        if es.ai.ai in ("30", "37"):
            count = int(es.value)
    return MaterialScan(
        gtin=gtin,
        lot=elements.get("10"),
        serial=elements.get("21"),
        expiry=expiry,
        count=count,
        elements=elements,
    )


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
