from datetime import UTC, datetime, timedelta

import pytest

from mes.alarms.lifecycle import (
    LATCHED_TRANSITIONS,
    TRANSITIONS,
    Acknowledge,
    Actor,
    AlarmState,
    AlarmStatus,
    Cleared,
    IllegalTransition,
    NotPermitted,
    Raised,
    RemoveFromService,
    ReturnToService,
    Shelve,
    Suppress,
    Unshelve,
    Unsuppress,
    apply,
    mermaid_diagram,
    shelf_expired,
)

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
OP = Actor("E1042", frozenset({"operator"}))
SUP = Actor("boss", frozenset({"supervisor"}))
S = AlarmState


def run(status: AlarmStatus, *events: object) -> AlarmStatus:
    for e in events:
        status = apply(status, e)  # type: ignore[arg-type]
    return status


def test_ack_after_return_to_normal_and_before() -> None:
    a = AlarmStatus("oven-01.temperature.hh")
    a = run(a, Raised(T0, 205.0, 200.0))
    assert a.state is S.ACTIVE_UNACKED
    assert a.value == 205.0
    assert a.changed_at == T0
    a = run(a, Cleared(T0, 190.0))
    assert a.state is S.RTN_UNACKED
    a = run(a, Acknowledge(OP, T0, "checked the door"))
    assert (a.state, a.by, a.comment) == (S.NORMAL, "E1042", "checked the door")
    a = run(a, Raised(T0), Acknowledge(OP, T0))
    assert a.state is S.ACTIVE_ACKED
    assert run(a, Cleared(T0)).state is S.NORMAL


def test_latching_alarm_waits_for_a_reset_after_return_to_normal() -> None:
    a = AlarmStatus("x", latching=True)
    a = run(a, Raised(T0), Acknowledge(OP, T0), Cleared(T0))
    assert a.state is S.RTN_UNACKED
    assert run(a, Acknowledge(OP, T0)).state is S.NORMAL


def test_duplicate_raise_changes_nothing() -> None:
    a = run(AlarmStatus("x"), Raised(T0, 1.0))
    assert apply(a, Raised(T0 + timedelta(seconds=1), 1.0)) is a


def test_ack_of_a_normal_alarm_is_illegal_and_says_so() -> None:
    with pytest.raises(IllegalTransition, match="alarm x cannot acknowledge when normal"):
        apply(AlarmStatus("x"), Acknowledge(OP, T0))


def test_timed_shelving_tracks_the_condition_and_unshelves_where_the_process_is() -> None:
    until = T0 + timedelta(minutes=30)
    a = run(AlarmStatus("x"), Raised(T0), Shelve(OP, T0, until, "sensor being replaced"))
    assert (a.state, a.shelved_until, a.comment) == (S.SHELVED, until, "sensor being replaced")
    assert not shelf_expired(a, until - timedelta(seconds=1))
    assert shelf_expired(a, until)
    a = run(a, Cleared(T0), Raised(T0))
    assert a.state is S.SHELVED
    assert a.condition_active
    b = run(a, Unshelve(until))
    assert (b.state, b.shelved_until, b.by) == (S.ACTIVE_UNACKED, None, None)
    c = run(a, Cleared(T0), Unshelve(until, OP))
    assert c.state is S.NORMAL


def test_out_of_service_is_for_supervisors_only() -> None:
    a = run(AlarmStatus("x"), Raised(T0))
    with pytest.raises(NotPermitted, match="E1042 may not remove_from_service alarm x"):
        apply(a, RemoveFromService(OP, T0, "broken"))
    a = run(a, RemoveFromService(SUP, T0, "broken sensor"))
    assert a.state is S.OUT_OF_SERVICE
    with pytest.raises(NotPermitted):
        apply(a, ReturnToService(OP, T0))
    with pytest.raises(IllegalTransition):
        apply(a, Shelve(SUP, T0, T0, "no"))
    assert run(a, ReturnToService(SUP, T0)).state is S.ACTIVE_UNACKED


def test_suppression_by_design_and_back() -> None:
    a = run(AlarmStatus("x"), Raised(T0), Suppress(T0))
    assert (a.state, a.condition_active) == (S.SUPPRESSED, False)
    assert run(a, Raised(T0)).state is S.SUPPRESSED
    assert run(a, Unsuppress(T0)).state is S.NORMAL
    # shelved while suppressed: unshelving returns to suppressed
    b = run(a, Shelve(OP, T0, T0, "r"), Unshelve(T0))
    assert b.state is S.SUPPRESSED


def test_every_state_is_reachable_and_leavable_in_the_table() -> None:
    sources = {s for s, _ in TRANSITIONS}
    targets = {t for t in TRANSITIONS.values() if isinstance(t, AlarmState)}
    assert sources == set(AlarmState)
    assert targets == set(AlarmState)
    assert set(LATCHED_TRANSITIONS) <= set(TRANSITIONS)


def test_diagram_is_generated_from_the_table() -> None:
    diagram = mermaid_diagram()
    assert "normal --> active_unacked: raised" in diagram
    assert "active_acked --> rtn_unacked: cleared (latching)" in diagram
    assert "shelved --> active_unacked: unshelve" in diagram
    assert "active_unacked --> active_unacked" not in diagram
