"""Poll scheduling and reconnect backoff, pure: times are passed in."""

import random

from edge.drivers.modbus.polling import PollGroup, backoff_delay, next_due


def test_fixed_rate_without_drift() -> None:
    g = PollGroup(interval_s=0.1, due=10.0)
    for k in range(1, 50):
        # each poll takes 30 ms, started on time: the next slot is exactly k intervals later
        assert g.advance(g.due + 0.03) == 0
        assert abs(g.due - (10.0 + k * 0.1)) < 1e-9
    assert g.overruns == 0


def test_overrun_is_counted_and_skipped_not_queued() -> None:
    g = PollGroup(interval_s=0.1, due=0.0)
    assert g.advance(0.35) == 3  # slots 0.1, 0.2, 0.3 missed
    assert abs(g.due - 0.4) < 1e-9  # the next poll is the next slot in the future
    assert g.overruns == 3
    assert g.advance(0.41) == 0
    assert next_due([g, PollGroup(1.0, 0.2)]) == 0.2


def test_backoff_doubles_up_to_the_maximum_with_jitter() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(n, 0.5, 30.0, rng) for n in range(12)]
    for n, d in enumerate(delays):
        ceiling = min(30.0, 0.5 * 2**n)
        assert ceiling / 2 <= d <= ceiling
    assert max(delays) <= 30.0
    assert delays[8] > delays[1] * 4
    spread = {round(backoff_delay(3, 0.5, 30.0, random.Random(s)), 3) for s in range(20)}
    assert len(spread) > 10  # jittered: devices that failed together do not retry in step
