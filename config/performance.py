"""Plant-file section `performance`: machine states per work unit, shift calendars per work
centre and the downtime reason tree (docs/performance.md)."""

from collections.abc import Iterator, Sequence
from datetime import date, time
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from config.base import Strict

MappedState = Literal["running", "idle", "setup", "fault", "planned_stop"]
Op = Literal["eq", "ne", "gt", "ge", "lt", "le", "in", "truthy"]


def _clock(value: str) -> str:
    try:
        return time.fromisoformat(value).strftime("%H:%M")
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day (HH:MM)") from None


Clock = Annotated[str, Field(pattern=r"^\d{2}:\d{2}$"), AfterValidator(_clock)]
#: text without NUL (the calendar edits of the API take these models too)
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00]+$")]


class StateRule(Strict):
    tag: str = Field(description="a tag of the work unit's device")
    op: Op = Field(description="comparison with `value` (`truthy` ignores it)")
    value: Any = Field(default=None, description="what the tag is compared with")
    state: MappedState = Field(description="the machine state when the rule matches")


class WorkUnit(Strict):
    """How one workstation's machine states come from its device's tags."""

    workstation: str = Field(description="the workstation id (the work unit)")
    device: str = Field(description="the device whose `_telemetry` shows its state")
    rules: list[StateRule] = Field(default=[], description="checked first to last")
    code_tag: str | None = Field(default=None, description="a state tag whose values map")
    codes: dict[str, MappedState] = Field(
        default={}, description="values of `code_tag` (as text) to states"
    )
    default: MappedState = Field(default="idle", description="when no rule or code matches")
    uncertain_is_unknown: bool = Field(
        default=False, description="an `uncertain` tag makes the state unknown, like `bad`"
    )
    micro_stop_s: float = Field(
        default=60.0, ge=0, description="a stop shorter than this is a micro-stop"
    )
    silence_timeout_s: float = Field(
        default=120.0, gt=0, description="nothing heard from the agent this long: unknown"
    )


class BreakTime(Strict):
    start: Clock
    end: Clock


class ShiftTime(Strict):
    name: Name
    start: Clock = Field(description="local start HH:MM")
    end: Clock = Field(description="local end HH:MM (crosses midnight when not after start)")
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        default=[0, 1, 2, 3, 4, 5, 6], description="days the shift starts on (0 = Monday)"
    )
    breaks: list[BreakTime] = Field(default=[], description="planned downtime, local times")


class CalendarConfig(Strict):
    """The shift calendar of a work centre (the initial version; the API adds later ones)."""

    work_centre: Name = Field(description="work centre, or `default` for every other one")
    timezone: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_+/-]+$",
        description="IANA zone; default: `mes.shifts.timezone`",
    )
    shifts: list[ShiftTime] = Field(min_length=1)
    holidays: list[date] = Field(default=[], description="local dates YYYY-MM-DD: no shift")


class Reason(Strict):
    code: str = Field(pattern=r"^[A-Z0-9_-]{1,32}$", description="what `RSN:<code>` scans")
    en: str = Field(min_length=1, description="English name")
    zh_cn: str = Field(min_length=1, description="Simplified Chinese name")


class ReasonGroup(Reason):
    reasons: list[Reason] = Field(min_length=1, description="the second level")


class Performance(Strict):
    work_units: list[WorkUnit] = Field(default=[], description="machine states per workstation")
    calendars: list[CalendarConfig] = Field(
        default=[], description="shift calendars; none: `mes.shifts` for every work centre"
    )
    reasons: list[ReasonGroup] = Field(default=[], description="downtime reason tree")
    kpi_messages: bool = Field(default=True, description="one `_mes/kpi` per unit per shift")


def performance_problems(
    perf: Performance, devices: Sequence[Any], stations: set[str], centres: set[str]
) -> Iterator[tuple[str, str]]:
    """Cross references of the `performance` section: (field path, what is wrong)."""
    tags = {d.name: {t.name for t in d.tags} for d in devices}
    seen: set[str] = set()
    for i, unit in enumerate(perf.work_units):
        where = f"performance.work_units[{i}]"
        if unit.workstation not in stations:
            yield f"{where}.workstation", f"unknown workstation {unit.workstation!r}"
        if unit.workstation in seen:
            yield f"{where}.workstation", f"workstation {unit.workstation!r} mapped twice"
        seen.add(unit.workstation)
        if unit.device not in tags:
            yield f"{where}.device", f"unknown device {unit.device!r}"
            continue
        for j, rule in enumerate(unit.rules):
            if rule.tag not in tags[unit.device]:
                yield f"{where}.rules[{j}].tag", f"device {unit.device!r} has no tag {rule.tag!r}"
        if unit.code_tag is not None and unit.code_tag not in tags[unit.device]:
            yield f"{where}.code_tag", f"device {unit.device!r} has no tag {unit.code_tag!r}"
    names: set[str] = set()
    for i, cal in enumerate(perf.calendars):
        if cal.work_centre != "default" and cal.work_centre not in centres:
            yield f"performance.calendars[{i}].work_centre", f"no work centre {cal.work_centre!r}"
        if cal.work_centre in names:
            yield f"performance.calendars[{i}].work_centre", "a second calendar for it"
        names.add(cal.work_centre)
    codes: set[str] = set()
    for i, group in enumerate(perf.reasons):
        for j, reason in enumerate([group, *group.reasons]):
            if reason.code in codes:
                where = f"performance.reasons[{i}]" + (f".reasons[{j - 1}]" if j else "")
                yield f"{where}.code", f"duplicate reason code {reason.code!r}"
            codes.add(reason.code)
