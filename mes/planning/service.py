"""The planning service of one MES process: replans when the floor changes (debounced) and on
demand, on the process's one scheduler.

Every `poll_s` it digests what the plan depends on (mes/planning/fingerprint.py). A change
starts the debounce: the replan runs once the floor has been quiet for `debounce_s`, or
`max_delay_s` after the first change, whichever comes first. Each plan is warm-started from the
current one, stored with its diff, and published on `_mes/schedule` through the outbox.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy.engine import Engine
from sqlmodel import Session

from config.plant import PlantConfig
from mes.core.clock import utcnow
from mes.planning import store
from mes.planning.fingerprint import (
    LATE,
    NOTHING,
    changed_parts,
    combined,
    floor_digests,
    late_digest,
)
from mes.planning.models import PlanRecord
from mes.planning.problem import build_problem
from mes.scheduling import PlannerSettings, SolverSettings, plan

log = logging.getLogger(__name__)
JOB_ID = "planning-poll"


@dataclass
class _Pending:
    first: datetime
    last: datetime
    parts: set[str]


class PlanningService:
    def __init__(
        self,
        cfg: PlantConfig,
        engine: Engine,
        *,
        after_commit: Callable[[], object] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.cfg = cfg
        self.engine = engine
        self.after_commit = after_commit
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, str] | None = None
        self._pending: _Pending | None = None
        self._scheduler: BaseScheduler | None = None

    def settings(self) -> PlannerSettings:
        p = self.cfg.planning
        return PlannerSettings(
            solver=SolverSettings(time_limit_s=p.time_limit_s, workers=p.workers, seed=p.seed)
        )

    # --- lifecycle ------------------------------------------------------------------------

    def start(self, scheduler: BaseScheduler) -> None:
        if not self.cfg.planning.enabled:
            return
        self._scheduler = scheduler
        scheduler.add_job(
            self.poll,
            "interval",
            seconds=self.cfg.planning.poll_s,
            id=JOB_ID,
            max_instances=1,
            coalesce=True,
            next_run_time=self.clock(),
        )

    def stop(self) -> None:
        if self._scheduler is not None and self._scheduler.get_job(JOB_ID):
            self._scheduler.remove_job(JOB_ID)
        self._scheduler = None

    # --- triggers -------------------------------------------------------------------------

    def poll(self) -> PlanRecord | None:
        """Look for changes; replan when the debounce allows. Started on a scheduler, the
        replan is a job of its own (a long solve never holds the poll back); without one (tests,
        scripts) it runs here and its plan is returned."""
        now = self.clock()
        with Session(self.engine) as session:
            floor = floor_digests(session)
            digests = {**floor, LATE: late_digest(session, now)}
            if self._seen is None:  # first look: against what the current plan was made from
                last = store.current(session)
                stale = last.fingerprint != combined(floor) if last else floor["orders"] != NOTHING
                if stale:  # no plan and nothing to plan: nothing to do
                    self._pending = _Pending(now, now, {"start"})
                self._seen = digests
            elif digests != self._seen:
                parts = set(changed_parts(self._seen, digests))
                self._seen = digests
                if self._pending is None:
                    self._pending = _Pending(now, now, parts)
                else:
                    self._pending.last = now
                    self._pending.parts |= parts
        pending = self._pending
        if pending is None:
            return None
        quiet = now - pending.last >= timedelta(seconds=self.cfg.planning.debounce_s)
        overdue = now - pending.first >= timedelta(seconds=self.cfg.planning.max_delay_s)
        if not (quiet or overdue):
            return None
        self._pending = None
        trigger = "changed: " + ", ".join(sorted(pending.parts))
        # a floor change a lock's or an unlock's own replan may already have planned
        unless_planned = LATE not in pending.parts
        if self._scheduler is not None:
            self._scheduler.add_job(
                self.replan, args=[trigger, unless_planned], misfire_grace_time=None
            )
            return None
        return self.replan(trigger, unless_planned)

    def replan(self, trigger: str, unless_planned: bool = False) -> PlanRecord:
        """Plan now (one planning run at a time per process) and store the plan. With
        `unless_planned`, a current plan made from the floor as it is now is kept instead."""
        with self._lock:
            # on the minute: the plan's grid (60 s units) meets whole-minute locks exactly
            now = self.clock().replace(second=0, microsecond=0)
            with Session(self.engine) as session:
                digests = floor_digests(session)
                last = store.current(session)
                if unless_planned and last is not None and last.fingerprint == combined(digests):
                    log.debug("replan (%s) skipped: plan %s is of this floor", trigger, last.id)
                    return last
                slots = store.slots_of(session, last.id if last else None)
                previous = store.as_plan(last, slots) if last is not None else None
                problem = build_problem(session, self.cfg, now, slots)
                result = plan(problem, self.settings(), previous=previous)
                record = store.save(
                    session,
                    result,
                    now=now,
                    trigger=trigger,
                    fingerprint=combined(digests),
                    keep=self.cfg.planning.keep_plans,
                )
                session.commit()
                session.refresh(record)
                # lateness is judged against the plan just made (else it would replan twice)
                self._seen = {**digests, LATE: late_digest(session, self.clock())}
        log.info(
            "plan %s (%s): %s, %d operations, %d errors",
            record.id,
            trigger,
            result.method,
            len(result.assignments),
            len(result.errors),
        )
        if self.after_commit is not None:
            self.after_commit()
        return record

    def soon(self, trigger: str) -> None:
        """Replan at once as a one-off job of the scheduler, not in the caller (after a lock,
        an unlock or the debounce); without a scheduler, here. Each request is a job of its
        own (a job id still running would skip a new one); the lock runs them one by one."""
        if self._scheduler is None:
            self.replan(trigger)
            return
        self._scheduler.add_job(self.replan, args=[trigger], misfire_grace_time=None)
