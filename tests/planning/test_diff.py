"""What changed between two plans (pure)."""

from datetime import UTC, datetime, timedelta

from mes.planning.diff import SlotView, plan_diff

T0 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def slot(op: str, ws: str, start_h: float, running: bool = False) -> SlotView:
    start = T0 + timedelta(hours=start_h)
    return SlotView("WO-1", op, ws, start, start + timedelta(hours=1), running)


def test_moved_added_removed_and_kept() -> None:
    before = [slot("0010", "ws-10", 0), slot("0020", "ws-20", 1), slot("0030", "ws-20", 2)]
    after = [slot("0010", "ws-10", 0), slot("0020", "ws-21", 1), slot("0040", "ws-20", 3)]
    diff = plan_diff(before, after)
    assert diff["kept"] == 1
    assert [
        (m["operation"], m["from_workstation"], m["to_workstation"]) for m in diff["moved"]
    ] == [("0020", "ws-20", "ws-21")]
    assert diff["added"] == [{"work_order": "WO-1", "operation": "0040"}]
    assert diff["removed"] == [{"work_order": "WO-1", "operation": "0030"}]


def test_a_running_operation_whose_start_follows_the_clock_keeps_its_slot() -> None:
    before = [slot("0010", "ws-10", 0, running=True), slot("0020", "ws-20", 2)]
    later = [slot("0010", "ws-10", 0.25, running=True), slot("0020", "ws-20", 2.5)]
    diff = plan_diff(before, later)
    assert diff["kept"] == 1
    assert [(m["operation"], m["shift_s"]) for m in diff["moved"]] == [("0020", 1800.0)]
    # started since the plan before: that is a move (it was to start at 0)
    diff = plan_diff([slot("0010", "ws-10", 1)], [slot("0010", "ws-10", 0.5, running=True)])
    assert [m["operation"] for m in diff["moved"]] == ["0010"]
