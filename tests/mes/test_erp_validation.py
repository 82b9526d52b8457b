"""ERP message parsing and validation rules, pure (no database)."""

import hashlib
import json

import pytest

from mes.orders.erp_messages import (
    Catalogue,
    ExistingOrder,
    check_command,
    parse_order_message,
    rejection_payload,
)
from tests.mes.orders_support import order_message, release_message

CAT = Catalogue(frozenset({"BRKT-200", "STEEL-2MM"}), {"RT-BRKT-200": "BRKT-200"})


def parsed(msg):
    return parse_order_message(json.dumps(msg))


def test_valid_release_parses():
    p = parsed(release_message("PO-1", 50))
    assert p.rejection is None
    assert p.command.order.quantity == 50
    assert p.command.order.due_at.utcoffset().total_seconds() == 0
    assert check_command(p.command, CAT, None) is None


@pytest.mark.parametrize(
    ("raw", "code", "fragment"),
    [
        ("{oops", "INVALID_JSON", "not JSON"),
        ("[1, 2]", "INVALID_MESSAGE", "object"),
        (json.dumps({**release_message(), "v": 2}), "UNSUPPORTED_VERSION", "v must be 1"),
        (json.dumps({**release_message(), "type": "order.explode"}), "UNKNOWN_TYPE", "explode"),
        (json.dumps(release_message(quantity=0)), "INVALID_MESSAGE", "order.quantity"),
        (json.dumps(release_message(due_at="2026-12-01T16:00:00")), "INVALID_MESSAGE", "due_at"),
        (json.dumps(order_message("order.change", "PO-1")), "INVALID_MESSAGE", "quantity or due"),
    ],
)
def test_malformed_messages(raw, code, fragment):
    p = parse_order_message(raw)
    assert p.command is None
    assert p.rejection.code == code
    assert fragment in p.rejection.message


def test_rejection_payload_is_the_contract_shape():
    msg = release_message("PO-9", quantity=-1)
    p = parsed(msg)
    out = rejection_payload(p.rejection, p.received)
    assert out == {
        "v": 1,
        "message_id": msg["message_id"],
        "erp_id": "PO-9",
        "error": {"code": "INVALID_MESSAGE", "message": p.rejection.message},
        "received": msg,
        # extensions (docs/contracts.md): what was received, to match it with what was sent
        "received_bytes": len(json.dumps(msg).encode()),
        "received_sha256": hashlib.sha256(json.dumps(msg).encode()).hexdigest(),
        "received_truncated": False,
    }
    raw = parse_order_message(b"\xff garbage")
    assert rejection_payload(raw.rejection, raw.received)["received"] == "\ufffd garbage"


@pytest.mark.parametrize(
    ("order", "code"),
    [
        ({"product": "NOPE"}, "UNKNOWN_PRODUCT"),
        ({"routing": "RT-X"}, "UNKNOWN_ROUTING"),
        ({"product": "STEEL-2MM"}, "ROUTING_MISMATCH"),
        ({"components": [{"product": "GLUE", "quantity_per_unit": 1}]}, "UNKNOWN_PRODUCT"),
    ],
)
def test_release_against_the_catalogue(order, code):
    p = parsed(release_message("PO-1", 10, **order))
    assert check_command(p.command, CAT, None).code == code


def existing(status="RELEASED", started=False, reported=0):
    return ExistingOrder(status, started, reported, 100)


def test_replace_only_before_start():
    p = parsed(release_message("PO-1", 10))
    assert check_command(p.command, CAT, existing()) is None
    assert check_command(p.command, CAT, existing("RUNNING", True)).code == "ORDER_STARTED"


def test_change_rules():
    p = parsed(order_message("order.change", "PO-1", quantity=40))
    assert check_command(p.command, CAT, None).code == "UNKNOWN_ORDER"
    assert check_command(p.command, CAT, existing("RUNNING", True, 40)) is None
    below = check_command(p.command, CAT, existing("RUNNING", True, 41))
    assert below.code == "QUANTITY_BELOW_REPORTED"
    assert "41" in below.message
    assert check_command(p.command, CAT, existing("CLOSED", True, 0)).code == "ORDER_FINISHED"


def test_cancel_rules():
    p = parsed(order_message("order.cancel", "PO-1"))
    assert check_command(p.command, CAT, existing()) is None
    assert check_command(p.command, CAT, existing("CANCELLED")) is None  # idempotent
    assert check_command(p.command, CAT, existing("RUNNING", True)).code == "ORDER_RUNNING"
    assert check_command(p.command, CAT, existing("HELD", True)).code == "ORDER_RUNNING"
