"""ERP order messages (docs/contracts.md section 5): parsing and full validation, no I/O.

`parse_order_message` turns raw bytes into a command or a `Rejection`; `check_command` checks a
command against what the MES knows (catalogue and the existing order) before anything is
written. Both are pure, so every rejection rule is unit-tested without a database.
"""

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from mes.orders.states import FINISHED

RELEASE = "order.release"
CHANGE = "order.change"
CANCEL = "order.cancel"


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class ComponentIn(_Lenient):
    product: str = Field(min_length=1, max_length=64)
    quantity_per_unit: float = Field(gt=0)
    unit: str = Field(default="pcs", max_length=16)


class ReleaseOrderIn(_Lenient):
    erp_id: str = Field(min_length=1, max_length=64)
    product: str = Field(min_length=1, max_length=64)
    quantity: int = Field(gt=0, le=10_000_000)
    unit: str = Field(default="pcs", max_length=16)
    due_at: AwareDatetime | None = None
    priority: int = Field(default=0, ge=0, le=1000)
    routing: str = Field(min_length=1, max_length=64)
    components: list[ComponentIn] = []


class ChangeOrderIn(_Lenient):
    erp_id: str = Field(min_length=1, max_length=64)
    quantity: int | None = Field(default=None, gt=0, le=10_000_000)
    due_at: AwareDatetime | None = None


class CancelOrderIn(_Lenient):
    erp_id: str = Field(min_length=1, max_length=64)


class ReleaseMessage(_Lenient):
    v: Literal[1]
    message_id: str = Field(min_length=1, max_length=64)
    type: Literal["order.release"]
    order: ReleaseOrderIn


class ChangeMessage(_Lenient):
    v: Literal[1]
    message_id: str = Field(min_length=1, max_length=64)
    type: Literal["order.change"]
    order: ChangeOrderIn


class CancelMessage(_Lenient):
    v: Literal[1]
    message_id: str = Field(min_length=1, max_length=64)
    type: Literal["order.cancel"]
    order: CancelOrderIn


OrderMessage = ReleaseMessage | ChangeMessage | CancelMessage
_MODELS: dict[str, type[ReleaseMessage] | type[ChangeMessage] | type[CancelMessage]] = {
    RELEASE: ReleaseMessage,
    CHANGE: ChangeMessage,
    CANCEL: CancelMessage,
}


@dataclass(frozen=True, slots=True)
class Rejection:
    code: str
    message: str
    message_id: str | None = None
    erp_id: str | None = None


#: Default largest ERP message (`mes.erp.max_message_bytes`).
MAX_MESSAGE_BYTES = 256 * 1024
#: Characters of a payload kept in a rejection when the payload is not kept whole.
EXCERPT_CHARS = 1024


@dataclass(frozen=True, slots=True)
class Received:
    """What a rejection says about the payload: `value` is the original payload (parsed JSON),
    or, for text that is not JSON or a payload over the size limit, at most `EXCERPT_CHARS`
    characters of its text (`truncated` says whether that is all of it); `size` and `sha256`
    are of the raw bytes, so an ERP can match a rejection with what it sent."""

    value: Any
    size: int
    sha256: str
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class Parsed:
    received: Received
    command: OrderMessage | None = None
    rejection: Rejection | None = None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _excerpt(data: bytes, size: int, digest: str) -> Received:
    head = data[: EXCERPT_CHARS * 4]  # a character is at most 4 bytes of UTF-8
    decoded = head.decode("utf-8", errors="replace")
    text = decoded[:EXCERPT_CHARS].replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL
    return Received(text, size, digest, truncated=len(head) < size or len(decoded) > len(text))


def read_object(
    raw: bytes | str, max_bytes: int = MAX_MESSAGE_BYTES
) -> tuple[Received, dict[str, Any] | None, Rejection | None]:
    """The payload as a JSON object, or the rejection of what is not one (any ERP message)."""
    data_bytes = raw.encode("utf-8", errors="replace") if isinstance(raw, str) else raw
    size, digest = len(data_bytes), hashlib.sha256(data_bytes).hexdigest()
    if size > max_bytes:  # not parsed at all: its ids are unknown
        return (
            _excerpt(data_bytes, size, digest),
            None,
            Rejection(
                "MESSAGE_TOO_LARGE", f"payload is {size} bytes, above the limit of {max_bytes}"
            ),
        )
    text = data_bytes.decode("utf-8", errors="replace")
    if "\x00" in text or "\\u0000" in text:
        return (
            _excerpt(data_bytes, size, digest),
            None,
            Rejection("INVALID_MESSAGE", "payload contains a NUL character"),
        )
    try:
        data = json.loads(text)
    except ValueError as exc:
        return (
            _excerpt(data_bytes, size, digest),
            None,
            Rejection("INVALID_JSON", f"payload is not JSON: {exc}"),
        )
    received = Received(data, size, digest)
    if not isinstance(data, dict):
        return received, None, Rejection("INVALID_MESSAGE", "payload must be an object")
    return received, data, None


def validation_problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
        for e in exc.errors(include_url=False)[:5]
    )


def parse_order_message(raw: bytes | str, max_bytes: int = MAX_MESSAGE_BYTES) -> Parsed:
    received, data, refused = read_object(raw, max_bytes)
    if data is None:
        return Parsed(received, rejection=refused)
    message_id = _str_or_none(data.get("message_id"))
    order = data.get("order")
    erp_id = _str_or_none(order.get("erp_id")) if isinstance(order, dict) else None

    def reject(code: str, message: str) -> Parsed:
        return Parsed(received, rejection=Rejection(code, message, message_id, erp_id))

    if data.get("v") != 1:
        return reject("UNSUPPORTED_VERSION", f"v must be 1, got {data.get('v')!r}")
    kind = data.get("type")
    model = _MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        return reject("UNKNOWN_TYPE", f"type {kind!r} is not one of {', '.join(_MODELS)}")
    try:
        command = model.model_validate(data)
    except ValidationError as exc:
        return reject("INVALID_MESSAGE", validation_problems(exc))
    if (
        isinstance(command, ChangeMessage)
        and command.order.quantity is None
        and command.order.due_at is None
    ):
        return reject("INVALID_MESSAGE", "order.change needs quantity or due_at")
    return Parsed(received, command=command)


@dataclass(frozen=True, slots=True)
class Catalogue:
    """What the MES knows: product codes and routings (routing id -> product code)."""

    products: frozenset[str]
    routings: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ExistingOrder:
    """The order as the MES has it: work-order state and the most any operation processed."""

    status: str
    started: bool
    reported: int
    quantity: int


NOT_STARTED = frozenset({"PLANNED", "RELEASED"})


def check_command(
    command: OrderMessage, catalogue: Catalogue, existing: ExistingOrder | None
) -> Rejection | None:
    """Every rule that needs the database's view, decided before anything is written."""
    erp_id = command.order.erp_id

    def reject(code: str, message: str) -> Rejection:
        return Rejection(code, message, command.message_id, erp_id)

    if isinstance(command, ReleaseMessage):
        o = command.order
        if o.product not in catalogue.products:
            return reject("UNKNOWN_PRODUCT", f"product {o.product!r} is not known to the MES")
        routing_product = catalogue.routings.get(o.routing)
        if routing_product is None:
            return reject("UNKNOWN_ROUTING", f"routing {o.routing!r} is not known to the MES")
        if routing_product != o.product:
            return reject(
                "ROUTING_MISMATCH",
                f"routing {o.routing!r} makes {routing_product!r}, not {o.product!r}",
            )
        for i, c in enumerate(o.components):
            if c.product not in catalogue.products:
                return reject(
                    "UNKNOWN_PRODUCT",
                    f"order.components[{i}].product {c.product!r} is not known to the MES",
                )
        if existing is not None and (existing.started or existing.status not in NOT_STARTED):
            return reject(
                "ORDER_STARTED",
                f"{erp_id} is {existing.status}: only an order not yet started can be replaced",
            )
        return None
    if existing is None:
        return reject("UNKNOWN_ORDER", f"{erp_id} was never released to the MES")
    if isinstance(command, ChangeMessage):
        if existing.status in FINISHED:
            return reject("ORDER_FINISHED", f"{erp_id} is {existing.status} and cannot change")
        q = command.order.quantity
        if q is not None and q < existing.reported:
            return reject(
                "QUANTITY_BELOW_REPORTED",
                f"{erp_id}: quantity {q} is below the {existing.reported} already reported",
            )
        return None
    if existing.status == "CANCELLED":
        return None
    if existing.started or existing.status not in NOT_STARTED:
        return reject(
            "ORDER_RUNNING",
            f"{erp_id} is {existing.status}: only an unstarted order can be cancelled",
        )
    return None


def rejection_payload(rejection: Rejection, received: Received) -> dict[str, Any]:
    """The `_erp/orders/rejected` message as docs/contracts.md section 5, with the extension fields
    `received_bytes`, `received_sha256` and `received_truncated` (docs/contracts.md)."""
    return {
        "v": 1,
        "message_id": rejection.message_id,
        "erp_id": rejection.erp_id,
        "error": {"code": rejection.code, "message": rejection.message},
        "received": received.value,
        "received_bytes": received.size,
        "received_sha256": received.sha256,
        "received_truncated": received.truncated,
    }
