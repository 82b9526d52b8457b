"""The plan API (and the board's Gantt) answers the planner's notices and errors
language-neutrally too (catalogue key and parameters beside the unchanged English texts), and a
plan stored before there were keys still loads, with its English texts only."""

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from mes.planning import store
from mes.scheduling import Notice, Plan, PlanningError
from tests.mes.orders_support import unique_site
from tests.mes.scan_harness import admin_token, bearer, running_app
from tests.planning.support import NOW, planning_plant
from tests.services.mosquitto import Mosquitto

NOTICE = Notice(
    "work order PO-1, operation 0020: locked slot on ws-20 at 2026-06-01T08:00:00+00:00 no"
    " longer fits, planned again",
    "plan.notice.locked.no_longer_fits",
    {
        "order": "PO-1",
        "operation": "0020",
        "workstation": "ws-20",
        "at": "2026-06-01T08:00:00+00:00",
    },
)
ERROR = PlanningError(
    "PO-2",
    "0010",
    "no workstation can run this operation",
    "plan.error.no_workstation",
    {"order": "PO-2", "operation": "0010"},
)
#: how plans were stored before their notices and errors had keys
OLD_BODY = {
    "outcomes": [],
    "errors": [{"order": "PO-2", "operation": "0010", "reason": ERROR.reason}],
    "notices": [NOTICE.text],
}


def _save(engine: Engine, plan: Plan) -> int:
    with Session(engine) as s:
        record = store.save(s, plan, now=NOW, trigger="test", fingerprint="x", keep=10)
        s.commit()
        assert record.id is not None
        return record.id


def _get(client: TestClient, auth: dict[str, str], path: str) -> dict[str, Any]:
    r = client.get(path, headers=auth)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_notices_and_errors_come_with_keys_and_old_plans_still_load(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    cfg = unique_site(planning_plant(f"sqlite:///{tmp_path}/mes.db", mosquitto.url))
    with running_app(cfg) as (client, engine):
        auth = bearer(admin_token(client))
        plan_id = _save(engine, Plan((), (), (ERROR,), "cp-sat", notices=(NOTICE,)))

        answer = _get(client, auth, "/api/v1/schedule")
        assert answer["id"] == plan_id
        assert answer["notices"] == [NOTICE.text]  # as before: other systems read it
        item = {
            "message": NOTICE.text,
            "message_key": NOTICE.key,
            "message_params": NOTICE.params,
        }
        assert answer["notice_items"] == [item]
        assert answer["errors"] == [
            {
                "work_order": "PO-2",
                "operation": "0010",
                "reason": ERROR.reason,
                "reason_key": "plan.error.no_workstation",
                "reason_params": {"order": "PO-2", "operation": "0010"},
            }
        ]
        board = _get(client, auth, "/api/v1/schedule/gantt")
        assert (board["notices"], board["notice_items"]) == ([NOTICE.text], [item])
        assert board["errors"] == answer["errors"]  # what the board lists as not planned

        with Session(engine) as s:  # the plan as it was stored before there were keys
            record = store.current(s)
            assert record is not None
            record.body_json = json.dumps(OLD_BODY)
            s.add(record)
            s.commit()
        old = _get(client, auth, "/api/v1/schedule")
        assert old["id"] == plan_id
        assert old["notices"] == [NOTICE.text]
        text_only = {"message": NOTICE.text, "message_key": None, "message_params": {}}
        assert old["notice_items"] == [text_only]
        assert old["errors"] == [
            {
                "work_order": "PO-2",
                "operation": "0010",
                "reason": ERROR.reason,
                "reason_key": None,
                "reason_params": {},
            }
        ]
        board = _get(client, auth, "/api/v1/schedule/gantt")
        assert (board["notices"], board["notice_items"]) == ([NOTICE.text], [text_only])
        assert board["errors"] == old["errors"]  # the reason as written, no key
