"""The demo operators' decisions (pure): log in, take the queue's next open job, report at
the machine's pace with a scrapped unit now and then, complete; the reason given a stop."""

from simulators.erp import due_in
from simulators.floor import Operator, next_codes, reason_for


def job(status: str = "READY", good: int = 0, scrap: int = 0, quantity: int = 10) -> dict:
    return {
        "work_order": "WO-000001",
        "operation": "0010",
        "status": status,
        "quantity": quantity,
        "good": good,
        "scrap": scrap,
    }


def test_an_operator_logs_in_takes_the_job_reports_and_completes() -> None:
    op = Operator("ws-10", "E1", ["BURR", "DENT"], batch=4, scrap_every=3)
    assert next_codes(op, [job()]) == ["EMP:E1"]
    op.logged_in = True
    done = {**job(status="DONE"), "work_order": "WO-000000"}
    assert next_codes(op, [done, job()]) == ["WO:WO-000001/0010", "CMD:START"]
    running = job(status="RUNNING")
    assert next_codes(op, [running]) == ["QTY:4"]
    assert next_codes(op, [job("RUNNING", good=4)]) == ["QTY:4"]
    assert next_codes(op, [job("RUNNING", good=8)]) == ["SCRAP:1:BURR"]  # every 3rd report
    assert next_codes(op, [job("RUNNING", good=8, scrap=1)]) == ["QTY:1"]  # what is left
    assert next_codes(op, [job("RUNNING", good=9, scrap=1)]) == ["CMD:COMPLETE"]
    assert next_codes(op, []) == []  # completed: off the queue, nothing else to do
    assert op.job is None
    second = {**job(status="RUNNING"), "work_order": "WO-000002"}
    codes = [next_codes(op, [second])[0] for _ in range(4)]
    assert codes[1:] == ["QTY:4", "QTY:4", "SCRAP:1:DENT"]  # the reasons take turns


def test_a_paused_job_is_resumed_and_a_refused_report_leads_to_completion() -> None:
    op = Operator("ws-20", "E2", [], logged_in=True)
    assert next_codes(op, [job(status="PAUSED")]) == ["WO:WO-000001/0010", "CMD:RESUME"]
    op.finish = True  # the previous operation released no more
    assert next_codes(op, [job("RUNNING", good=5)]) == ["CMD:COMPLETE"]


def test_reports_follow_the_machines_pace() -> None:
    op = Operator("ws-10", "E1", [], batch=5, cycle_s=2.0, pace=1.0, logged_in=True)
    assert next_codes(op, [job()], 0) == ["WO:WO-000001/0010", "CMD:START"]
    assert next_codes(op, [job("RUNNING")], 6.0) == []  # 3 parts made: fewer than a batch
    assert next_codes(op, [job("RUNNING")], 4.0) == ["QTY:5"]  # 5 made
    assert op.made == 0


def test_stop_reasons_and_due_dates_spread() -> None:
    reasons = ["DIE", "HYD", "NOMAT", "WAIT"]
    assert reason_for(7, "idle", reasons) == "WAIT"
    assert reason_for(7, "fault", reasons) == "HYD"  # breakdowns: mechanical reasons
    assert [due_in(i, 2).total_seconds() for i in range(4)] == [120, 240, 360, 120]
    assert due_in(0, None).days == 3
