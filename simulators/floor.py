"""The demo plant's people: an operator per workstation who logs in, takes the next job of the
station's queue, reports good units (now and then a scrapped one with a reason) and completes
the operation, and gives a reason to each machine stop. They use the MES as a station does:
scans (`POST /api/v1/scans`, docs/contracts.md sections 8-9) with the station's token, the
station's queue and the downtime API. `shopfloor sim floor` runs them (`shopfloor demo` does).

The decisions are pure (`next_codes`, `reason_for`); `Floor` is the HTTP adapter."""

from __future__ import annotations

import json
import logging
import random
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

log = logging.getLogger(__name__)

#: the operators the simulator plays, one per workstation in order: badges of their own, never
#: one the README or the demo's banner tells a person to scan (`EMP:<badge>` is a toggle: a
#: person scanning a simulated operator's badge would log that operator out)
SIM_OPERATORS = (("SIM-01", "Sim Operator 1"), ("SIM-02", "Sim Operator 2"))
OPEN = ("READY", "RUNNING", "PAUSED")
#: refusals after which the operator tries to complete the operation instead
ALL_REPORTED = ("QUANTITY_ABOVE_ORDER", "QUANTITY_ABOVE_RELEASED")


@dataclass
class Operator:
    """What one operator at one workstation knows and does."""

    station: str
    badge: str
    scrap_reasons: Sequence[str]
    batch: int = 5
    scrap_every: int = 4  # a scrapped unit every n-th report
    #: the routing's cycle time at this station: the operator reports no faster than the
    #: machine makes parts (`pace` of the ideal rate); 0: as fast as asked (tests)
    cycle_s: float = 0.0
    pace: float = 0.85
    made: float = 0.0  # units made since the last report (time x rate)
    scrapped: int = 0  # scrap reports so far: the reasons take turns across jobs
    logged_in: bool = False
    job: tuple[str, str] | None = None  # (work order, operation) being worked
    reports: int = 0
    #: the last report was refused as beyond what may be reported: complete next
    finish: bool = False


def next_codes(op: Operator, queue: Sequence[dict[str, Any]], elapsed_s: float = 0.0) -> list[str]:
    """The scans of one step of the operator's work, given the station's queue (open jobs in
    plan order, each with `work_order`, `operation`, `status`, `quantity`, `good`, `scrap`)
    and the seconds since the last step (the parts the machine made meanwhile)."""
    if not op.logged_in:
        return [f"EMP:{op.badge}"]
    current = next((j for j in queue if op.job == (j["work_order"], j["operation"])), None)
    if current is None:
        job = next((j for j in queue if j["status"] in OPEN), None)
        if job is None:
            op.job = None
            return []
        op.job, op.reports, op.finish = (job["work_order"], job["operation"]), 0, False
        op.made = 0.0
        codes = [f"WO:{job['work_order']}/{job['operation']}"]
        return [*codes, "CMD:RESUME" if job["status"] == "PAUSED" else "CMD:START"]
    left = int(current["quantity"]) - int(current["good"]) - int(current["scrap"])
    if op.finish or left <= 0:
        op.finish = False
        return ["CMD:COMPLETE"]
    want = min(op.batch, left)
    if op.cycle_s > 0:
        op.made += elapsed_s * op.pace / op.cycle_s
        if op.made < want:
            return []
        op.made -= want
    op.reports += 1
    if op.scrap_reasons and op.reports % op.scrap_every == 0:
        reason = op.scrap_reasons[op.scrapped % len(op.scrap_reasons)]
        op.scrapped += 1
        return [f"SCRAP:1:{reason}"]
    return [f"QTY:{want}"]


def reason_for(event_id: int, state: str, reasons: Sequence[str]) -> str:
    """The reason an operator gives a stop: a spread over the tree (repeatable by event id);
    a breakdown's first reason is the first of the tree."""
    if state == "fault":
        return reasons[event_id % min(len(reasons), 2)]
    return reasons[event_id % len(reasons)]


@dataclass
class Answer:
    accepted: bool
    code: str | None = None


Call = Callable[[str, str, str, dict[str, Any] | None], Any]


def http_call(api: str) -> Call:
    def call(method: str, path: str, token: str, body: dict[str, Any] | None) -> Any:
        req = urllib.request.Request(
            f"{api}{path}",
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method=method,
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as exc:
            try:
                return json.loads(exc.read())
            except ValueError:
                return {"accepted": False, "error": {"code": str(exc.code)}}

    return call


@dataclass
class Floor:
    """The operators of the plant's stations, one step each per `step()`."""

    call: Call
    tokens: dict[str, str]
    operators: list[Operator]
    reasons: Sequence[str]
    given: set[int] = field(default_factory=set)
    last: float | None = None  # time.monotonic() of the last step

    def scan(self, op: Operator, code: str) -> Answer:
        body = {"station": op.station, "code": code, "event_id": str(uuid.uuid4())}
        answer = self.call("POST", "/api/v1/scans", self.tokens[op.station], body)
        error = (answer or {}).get("error") or {}
        return Answer(bool((answer or {}).get("accepted")), error.get("code"))

    def step(self) -> None:
        now = time.monotonic()
        elapsed, self.last = (0.0 if self.last is None else now - self.last), now
        for op in self.operators:
            token = self.tokens[op.station]
            queue = self.call("GET", f"/api/v1/stations/{op.station}/queue", token, None)
            jobs = queue.get("jobs", []) if isinstance(queue, dict) else []
            for code in next_codes(op, jobs, elapsed):
                answer = self.scan(op, code)
                if code.startswith("EMP:"):
                    # accepted: logged in; refused as logged in elsewhere or already: so be it
                    op.logged_in = True
                elif not answer.accepted:
                    log.info("%s: %s refused (%s)", op.station, code, answer.code)
                    if answer.code in ALL_REPORTED:
                        op.finish = True
                    if answer.code == "NO_OPERATOR":  # logged out at the page or shift end
                        op.logged_in = False
                    if code == "CMD:COMPLETE":
                        op.job = None  # take the queue's next (or this one again) afresh
                    break
            self.give_reasons(op.station, token)

    def give_reasons(self, station: str, token: str) -> None:
        if not self.reasons:
            return
        now = datetime.now(UTC)
        params = f"start={(now - timedelta(hours=12)).isoformat()}&end={now.isoformat()}"
        path = f"/api/v1/performance/downtime?{params.replace('+', '%2B')}&work_unit={station}"
        events = self.call("GET", path, token, None)
        for e in events if isinstance(events, list) else []:
            if e.get("reason") or e["id"] in self.given or e.get("state") == "micro_stop":
                continue
            self.given.add(e["id"])
            reason = reason_for(e["id"], str(e.get("state")), self.reasons)
            self.call(
                "POST", f"/api/v1/performance/downtime/{e['id']}/reason", token, {"reason": reason}
            )


def run(floor: Floor, every_s: float, stop: Callable[[], bool]) -> None:
    while not stop():
        try:
            floor.step()
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # the MES restarting, or an answer not as expected: try again next step (the demo
            # stops when one of its parts dies)
            log.warning("floor: %r", exc)
        time.sleep(every_s)


def operators_for(
    stations: Sequence[str],
    badges: Sequence[str],
    scrap_reasons: Sequence[str],
    cycle_s: dict[str, float] | None = None,
    seed: int = 14,
) -> list[Operator]:
    """An operator per station; `cycle_s`: the routing's cycle time per station (none: the
    operators report as fast as they are stepped)."""
    rnd = random.Random(seed)
    return [
        Operator(
            ws,
            badge,
            list(scrap_reasons),
            batch=rnd.choice((4, 5, 6)),
            cycle_s=(cycle_s or {}).get(ws, 0.0),
        )
        for ws, badge in zip(stations, badges, strict=True)
    ]
