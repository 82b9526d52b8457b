"""Who may act on which alarm (pure): a station token only on its own workstation's alarms, and
shelving no longer than the alarm's priority allows."""

from collections.abc import Mapping

from mes.auth.roles import Principal


class AlarmRefused(Exception):
    """The caller may not do this to this alarm; the message says why."""


def check_scope(who: Principal, alarm: str, workstation: str | None) -> None:
    """Station tokens act only on alarms that belong to their workstation."""
    if who.station is None:
        return
    if workstation is None:
        raise AlarmRefused(f"alarm {alarm} belongs to no workstation: a station may not act on it")
    if workstation != who.station:
        raise AlarmRefused(
            f"alarm {alarm} belongs to workstation {workstation!r}, this token to {who.station!r}"
        )


def check_shelve_minutes(
    alarm: str, priority: str, minutes: float, limits: Mapping[str, float]
) -> None:
    longest = limits.get(priority)
    if longest is not None and minutes > longest:
        raise AlarmRefused(
            f"a {priority} alarm ({alarm}) may be shelved for at most {longest:g} minutes"
        )
