"""Timing decisions of the poller, pure: fixed-rate polling groups and reconnect backoff.

No clock is read here: callers pass the time in, so the rules are tested without waiting.
"""

import random
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(slots=True)
class PollGroup:
    """Tags polled at one interval. `due` is the next poll time (seconds, monotonic clock);
    polls happen at `start + k * interval` whatever each poll took, so there is no drift."""

    interval_s: float
    due: float
    overruns: int = 0

    def advance(self, now: float) -> int:
        """Move `due` past `now` after a poll; returns how many polls were skipped (overruns).

        An overrun is counted and skipped, never queued up: at most one poll runs per slot.
        """
        self.due += self.interval_s
        if now < self.due:
            return 0
        missed = int((now - self.due) / self.interval_s) + 1
        self.due += missed * self.interval_s
        self.overruns += missed
        return missed


def next_due(groups: Iterable[PollGroup]) -> float:
    return min(g.due for g in groups)


def backoff_delay(attempt: int, initial_s: float, max_s: float, rng: random.Random) -> float:
    """Delay before reconnect attempt `attempt` (0-based): doubles each attempt up to `max_s`,
    then a random 50-100% of that, so devices that failed together do not reconnect in step."""
    ceiling = min(max_s, initial_s * (2 ** min(attempt, 30)))
    return ceiling * (0.5 + 0.5 * rng.random())
