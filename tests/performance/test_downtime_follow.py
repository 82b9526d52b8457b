"""`downtime.follow`, pure: from what a unit's builder produced in a transaction and the stored
events at those times to the events to insert and the stored events to change."""

from datetime import UTC, datetime, timedelta

from mes.performance.downtime import EventChange, EventRow, Followed, KnownEvent, follow, wanted
from mes.performance.states import Interval, MachineState, Rule, StateMapping
from mes.performance.units import Unit

S = MachineState
T0 = datetime(2026, 3, 3, 8, tzinfo=UTC)
UNIT = Unit(
    workstation="ws-1",
    device="press-1",
    path="a/l/c",
    work_centre=None,
    mapping=StateMapping(rules=(Rule("speed", "gt", 0, S.RUNNING),)),
    micro_stop_threshold=timedelta(seconds=60),
    silence_timeout=timedelta(seconds=120),
)


def at(sec: float) -> datetime:
    return T0 + timedelta(seconds=sec)


def iv(a: float, b: float, state: MachineState, reason: str | None = None) -> Interval:
    return Interval(at(a), at(b), state, reason)


def test_a_stop_that_opened_and_closed_in_the_transaction_is_a_new_closed_event() -> None:
    f = Followed(UNIT, [iv(0, 10, S.RUNNING), iv(10, 100, S.FAULT, "jam")], iv(100, 120, S.RUNNING))
    assert wanted([f]) == {"ws-1": [at(10)]}
    out = follow([f], {})
    assert out.new == [EventRow("ws-1", at(10), at(100), "fault", "jam")]
    assert out.changed == []


def test_a_long_open_stop_opens_an_event_once() -> None:
    f = Followed(UNIT, [iv(0, 10, S.RUNNING)], iv(10, 70, S.IDLE, "material"))
    assert wanted([f]) == {"ws-1": [at(10)]}
    assert follow([f], {}).new == [EventRow("ws-1", at(10), None, "idle", "material")]
    # the next transaction finds it stored: nothing new
    known = {("ws-1", at(10)): KnownEvent(7, None, "idle", "material")}
    assert follow([f], known).new == []


def test_a_short_open_stop_is_no_event_yet_and_running_needs_no_lookup() -> None:
    f = Followed(UNIT, [iv(0, 10, S.RUNNING), iv(10, 20, S.SETUP)], iv(20, 50, S.FAULT))
    assert wanted([f]) == {}
    assert follow([f], {}).new == []
    # no order is an event at once: there is nothing to wait for
    g = Followed(UNIT, [], iv(20, 21, S.NO_ORDER))
    assert follow([g], {}).new == [EventRow("ws-1", at(20), None, "no_order", None)]


def test_a_stored_open_event_closes_with_its_stop_and_keeps_the_operators_reason() -> None:
    f = Followed(UNIT, [iv(10, 300, S.FAULT, "scan reason")], iv(300, 310, S.RUNNING))
    given = {("ws-1", at(10)): KnownEvent(7, None, "fault", "E-JAM")}
    assert follow([f], given).changed == [EventChange(at(300), "fault", "E-JAM", 7)]
    unexplained = {("ws-1", at(10)): KnownEvent(7, None, "fault", None)}
    assert follow([f], unexplained).changed == [EventChange(at(300), "fault", "scan reason", 7)]


def test_an_open_event_whose_stop_closed_as_a_micro_stop_is_closed_as_such() -> None:
    # the event was opened while the stop lasted; the stop closed shorter than the threshold
    # after all (e.g. its start moved with a redelivery): the event closes as a micro-stop
    f = Followed(UNIT, [iv(10, 40, S.MICRO_STOP, "scan")], iv(40, 50, S.RUNNING))
    known = {("ws-1", at(10)): KnownEvent(7, None, "idle", "E-WAIT")}
    assert follow([f], known).changed == [EventChange(at(40), "micro_stop", "E-WAIT", 7)]
    closed = {("ws-1", at(10)): KnownEvent(7, at(40), "micro_stop", "E-WAIT")}
    assert follow([f], closed).changed == []
    assert follow([f], {}).new == []  # a micro-stop alone is no event
