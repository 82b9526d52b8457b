"""ERP stock messages (`_erp/stock`, a contract extension, docs/contracts.md): parsing and
validation, no I/O.

One message gives, for each material it names, the stock on hand and every expected receipt
still open: it replaces what the MES knew about those materials and leaves the others alone.
"""

from dataclasses import dataclass
from typing import Literal

from pydantic import AwareDatetime, Field, ValidationError

from mes.orders.erp_messages import (
    MAX_MESSAGE_BYTES,
    Received,
    Rejection,
    _Lenient,
    _str_or_none,
    read_object,
    validation_problems,
)

SNAPSHOT = "stock.snapshot"


class ReceiptIn(_Lenient):
    at: AwareDatetime
    quantity: float = Field(gt=0)
    reference: str | None = Field(default=None, max_length=64)


class MaterialIn(_Lenient):
    material: str = Field(min_length=1, max_length=64)
    unit: str = Field(default="pcs", max_length=16)
    on_hand: float = Field(ge=0)
    receipts: list[ReceiptIn] = Field(default=[], max_length=1000)


class StockMessage(_Lenient):
    v: Literal[1]
    message_id: str = Field(min_length=1, max_length=64)
    type: Literal["stock.snapshot"]
    at: AwareDatetime
    materials: list[MaterialIn] = Field(min_length=1, max_length=10_000)


@dataclass(frozen=True, slots=True)
class ParsedStock:
    received: Received
    message: StockMessage | None = None
    rejection: Rejection | None = None


def parse_stock_message(raw: bytes | str, max_bytes: int = MAX_MESSAGE_BYTES) -> ParsedStock:
    received, data, refused = read_object(raw, max_bytes)
    if data is None:
        return ParsedStock(received, rejection=refused)
    message_id = _str_or_none(data.get("message_id"))

    def reject(code: str, text: str) -> ParsedStock:
        return ParsedStock(received, rejection=Rejection(code, text, message_id))

    if data.get("v") != 1:
        return reject("UNSUPPORTED_VERSION", f"v must be 1, got {data.get('v')!r}")
    if data.get("type") != SNAPSHOT:
        return reject("UNKNOWN_TYPE", f"type {data.get('type')!r} is not {SNAPSHOT}")
    try:
        message = StockMessage.model_validate(data)
    except ValidationError as exc:
        return reject("INVALID_MESSAGE", validation_problems(exc))
    names = [m.material for m in message.materials]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        return reject("INVALID_MESSAGE", f"materials named twice: {', '.join(twice)}")
    return ParsedStock(received, message=message)
