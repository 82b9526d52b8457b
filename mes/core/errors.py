"""Errors every MES feature shares: refusals of shop-floor actions and state-machine moves."""

from enum import StrEnum


class RefusalCode(StrEnum):
    """The contract error codes of a refused station action (docs/contracts.md)."""

    WORK_ORDER_NOT_FOUND = "WORK_ORDER_NOT_FOUND"
    OPERATION_NOT_FOUND = "OPERATION_NOT_FOUND"
    WRONG_WORKSTATION = "WRONG_WORKSTATION"
    WORK_ORDER_HELD = "WORK_ORDER_HELD"
    WORK_ORDER_SUSPENDED = "WORK_ORDER_SUSPENDED"
    WORK_ORDER_NOT_ACTIVE = "WORK_ORDER_NOT_ACTIVE"
    OUT_OF_SEQUENCE = "OUT_OF_SEQUENCE"
    OPERATION_NOT_RUNNING = "OPERATION_NOT_RUNNING"
    ILLEGAL_STATE = "ILLEGAL_STATE"
    QUANTITY_ABOVE_ORDER = "QUANTITY_ABOVE_ORDER"
    QUANTITY_ABOVE_RELEASED = "QUANTITY_ABOVE_RELEASED"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    REASON_REQUIRED = "REASON_REQUIRED"
    CORRECTION_NOT_POSSIBLE = "CORRECTION_NOT_POSSIBLE"
    EVENT_NOT_FOUND = "EVENT_NOT_FOUND"
    HOLD_NOT_FOUND = "HOLD_NOT_FOUND"
    # station front door (scans and buttons)
    UNKNOWN_BARCODE = "UNKNOWN_BARCODE"
    NO_OPERATOR = "NO_OPERATOR"
    NO_JOB = "NO_JOB"
    UNKNOWN_OPERATOR = "UNKNOWN_OPERATOR"
    PIN_REQUIRED = "PIN_REQUIRED"
    WRONG_PIN = "WRONG_PIN"
    PIN_LOCKED = "PIN_LOCKED"
    NOT_LOGGED_IN = "NOT_LOGGED_IN"
    NO_INSPECTION_PLAN = "NO_INSPECTION_PLAN"
    INVALID_RESULTS = "INVALID_RESULTS"


class Refusal(Exception):
    """An action that is understood but not allowed; `code` is the contract error code."""

    def __init__(self, code: RefusalCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class IllegalTransition(Exception):
    """An event that the current state of a state machine does not allow."""

    def __init__(self, machine: str, state: str, event: str) -> None:
        super().__init__(f"{machine} cannot {event} when {state}")
        self.machine = machine
        self.state = state
        self.event = event


class NotPermitted(Exception):
    """An action that needs a role the actor does not have."""


class BadMessage(ValueError):
    """An MQTT message that cannot be applied; the reason goes to the dead-letter topic."""
