"""The board's forecast (pure): predicted finish from the work left and the recent rate or the
routing's cycle times, at-risk when after the due date; the changes the live stream sends."""

from datetime import UTC, datetime, timedelta

from mes.board.changes import changes
from mes.board.prediction import OperationLeft, forecast, quantity_left, recent_rate

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def test_routing_cycle_times_when_nothing_ran_recently() -> None:
    ops = [OperationLeft(100, 2.0), OperationLeft(100, 3.0)]  # 200 s + 300 s
    cast = forecast(NOW, NOW + timedelta(hours=1), ops)
    assert cast.predicted_finish == NOW + timedelta(seconds=540)  # 500 s, to the next minute
    assert not cast.at_risk
    assert not cast.overdue


def test_the_recent_rate_wins_over_the_routing() -> None:
    # 60 units an hour measured: 30 left take 30 minutes, whatever the routing says
    ops = [OperationLeft(30, 1.0, recent_rate_per_h=60.0)]
    cast = forecast(NOW, NOW + timedelta(minutes=20), ops)
    assert cast.predicted_finish == NOW + timedelta(minutes=30)
    assert cast.at_risk


def test_done_operations_add_nothing_and_over_reporting_is_not_negative() -> None:
    assert quantity_left(50, 60) == 0
    assert OperationLeft(0, 99.0).seconds_left() == 0.0
    cast = forecast(NOW, None, [OperationLeft(0, 5.0)])
    assert cast.predicted_finish == NOW
    assert not cast.at_risk


def test_overdue_and_completed_orders() -> None:
    due = NOW - timedelta(hours=1)
    assert forecast(NOW, due, [OperationLeft(1, 1.0)]).overdue
    late = forecast(NOW, due, [], completed_at=NOW - timedelta(minutes=30))
    assert late.predicted_finish == NOW - timedelta(minutes=30)
    assert late.at_risk
    on_time = forecast(NOW, due, [], completed_at=due - timedelta(minutes=1))
    assert not on_time.at_risk
    assert not on_time.overdue


def test_recent_rate_needs_two_reports_over_a_real_span() -> None:
    assert recent_rate([(NOW - timedelta(minutes=10), 5)], NOW) is None
    two_close = [(NOW - timedelta(seconds=30), 5), (NOW - timedelta(seconds=10), 5)]
    assert recent_rate(two_close, NOW) is None
    reports = [(NOW - timedelta(minutes=30), 10), (NOW - timedelta(minutes=10), 20)]
    assert recent_rate(reports, NOW) == 60.0  # 30 units over the last 30 minutes
    old = [(NOW - timedelta(hours=3), 100), *reports]
    assert recent_rate(old, NOW) == 60.0  # outside the window


def test_changes_carry_only_what_changed() -> None:
    tile = {"station": "ws-10", "machine_state": "EXECUTE"}
    order = {"work_order": "WO-1", "good": 1}
    before = {"at": "t0", "tiles": [tile], "orders": [order], "holds": []}
    assert changes(before, {**before, "at": "t1"}) is None
    after = {
        "at": "t1",
        "tiles": [{**tile, "machine_state": "HELD"}],
        "orders": [],
        "holds": [{"hold_id": "H-1"}],
    }
    diff = changes(before, after)
    assert diff == {
        "at": "t1",
        "tiles": {"upsert": [{"station": "ws-10", "machine_state": "HELD"}], "remove": []},
        "orders": {"upsert": [], "remove": ["WO-1"]},
        "holds": {"upsert": [{"hold_id": "H-1"}], "remove": []},
    }


def test_a_new_plan_is_a_change_sent_whole() -> None:
    before = {"at": "t0", "tiles": [], "plan": {"id": 3, "created_at": "c3"}}
    assert changes(before, {**before, "at": "t1"}) is None
    newer = {"id": 4, "created_at": "c4"}
    assert changes(before, {**before, "at": "t1", "plan": newer}) == {"at": "t1", "plan": newer}
    assert changes({"at": "t0"}, {"at": "t1", "plan": None}) is None  # none before, none now
    assert changes(before, {"at": "t1", "tiles": [], "plan": None}) == {"at": "t1", "plan": None}
