"""The work-order and operation state machines, pure."""

import pytest

from mes.orders.states import (
    HOLDABLE,
    OPERATION_TRANSITIONS,
    WORK_ORDER_TRANSITIONS,
    Abort,
    Block,
    Cancel,
    Close,
    Complete,
    CompleteOperation,
    IllegalTransition,
    OperationState,
    PauseOperation,
    PlaceHold,
    Release,
    ReleaseHold,
    Resume,
    ResumeOperation,
    Start,
    StartOperation,
    Suspend,
    Unblock,
    WorkOrderState,
    WorkOrderStatus,
    next_operation_state,
)

W = WorkOrderState
O = OperationState  # noqa: E741


def run(*events):
    status = WorkOrderStatus()
    for e in events:
        status = status.apply(e)
    return status


def test_happy_path_to_closed():
    s = run(Release(), Start(), Suspend("lunch"), Resume(), Complete(), Close())
    assert s.state is W.CLOSED


def test_hold_is_a_set_released_only_when_empty():
    s = run(Release(), Start(), PlaceHold("H-1"), PlaceHold("H-2"))
    assert s.state is W.HELD
    assert s.holds == {"H-1", "H-2"}
    s = s.apply(ReleaseHold("H-1"))
    assert s.state is W.HELD
    s = s.apply(ReleaseHold("H-2"))
    assert s.state is W.RUNNING
    assert s.holds == frozenset()


def test_hold_returns_to_the_state_held_from():
    assert run(Release(), PlaceHold("H"), ReleaseHold("H")).state is W.RELEASED
    s = run(Release(), Start(), Suspend(), PlaceHold("H"), PlaceHold("H2"), ReleaseHold("H"))
    assert s.held_from is W.SUSPENDED
    assert s.apply(ReleaseHold("H2")).state is W.SUSPENDED


def test_releasing_an_unknown_hold_is_illegal():
    with pytest.raises(IllegalTransition, match="H-9"):
        run(Release(), PlaceHold("H-1"), ReleaseHold("H-9"))


def test_no_work_while_held_completing_is_illegal():
    with pytest.raises(IllegalTransition, match="work order cannot complete when HELD"):
        run(Release(), Start(), PlaceHold("H"), Complete())


@pytest.mark.parametrize(
    ("events", "bad"),
    [
        ((Release(), Start()), Cancel()),  # cancel only before start
        ((), Start()),  # must be released first
        ((Release(), Start(), Complete()), Start()),
        ((Release(), Start(), Complete(), Close()), PlaceHold("H")),
        ((Release(), Cancel()), Release()),
    ],
)
def test_illegal_work_order_moves(events, bad):
    with pytest.raises(IllegalTransition):
        run(*events).apply(bad)


def test_cancel_before_start_and_abort_after():
    assert run(Cancel()).state is W.CANCELLED
    assert run(Release(), Cancel()).state is W.CANCELLED
    s = run(Release(), Start(), PlaceHold("H"), Abort("scrapped"))
    assert s.state is W.ABORTED
    assert s.holds == frozenset()


def test_holdable_states():
    assert {W.RELEASED, W.RUNNING, W.SUSPENDED} == HOLDABLE


def test_operation_lifecycle():
    s = O.BLOCKED
    for ev, expected in [
        (Unblock(), O.READY),
        (StartOperation(), O.RUNNING),
        (StartOperation(), O.RUNNING),  # a second operator or station joins
        (PauseOperation("MATERIAL"), O.PAUSED),
        (ResumeOperation(), O.RUNNING),
        (CompleteOperation(), O.DONE),
    ]:
        s = next_operation_state(s, ev)
        assert s is expected
    assert next_operation_state(O.READY, Block()) is O.BLOCKED


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (O.BLOCKED, StartOperation()),
        (O.READY, CompleteOperation()),
        (O.DONE, StartOperation()),
        (O.PAUSED, StartOperation()),
        (O.BLOCKED, PauseOperation("X")),
    ],
)
def test_illegal_operation_moves(state, event):
    with pytest.raises(IllegalTransition, match="operation cannot"):
        next_operation_state(state, event)


def test_every_state_appears_in_the_tables():
    wo_states = {s for s, _ in WORK_ORDER_TRANSITIONS} | {
        t for t in WORK_ORDER_TRANSITIONS.values() if isinstance(t, W)
    }
    assert wo_states == set(W)
    op_states = {s for s, _ in OPERATION_TRANSITIONS} | set(OPERATION_TRANSITIONS.values())
    assert op_states == set(O)
