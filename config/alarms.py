"""Alarm definitions of the plant file: what is abnormal, how urgent, where, and what follows.

One definition is one alarm, identified as `{device}.{tag}.{name}` (e.g. `oven-01.temperature.hh`).
Kinds: analogue `limit` (levels HH/H/L/LL with deadband), discrete `state`, `rate_of_change`,
and `quality` (bad or stale data lasting N seconds). See docs/alarms-quality.md.
"""

import string
from collections.abc import Iterable, Iterator
from typing import Annotated, Literal, Protocol

from pydantic import Field, SecretStr, model_validator

from config.base import Segment, Strict

Priority = Literal["critical", "high", "medium", "low"]
LimitLevel = Literal["HH", "H", "L", "LL"]
StateValue = str | int | float | bool

#: The message of a definition that gives none (pages show a translated text of its kind).
DEFAULT_MESSAGE = "{alarm}: {value} (limit {limit})"
#: Placeholders a message template may use.
TEMPLATE_FIELDS = frozenset(
    {"alarm", "device", "tag", "name", "value", "limit", "unit", "priority", "path"}
)


class Suppression(Strict):
    """Suppression by design: the alarm is not raised while `tag` (same device) has one of
    `values`, e.g. process alarms while `state` is SETUP or IDLE."""

    tag: Segment
    values: list[StateValue] = Field(min_length=1)


class QualityAction(Strict):
    """Closed loop: when the alarm is raised, hold the lots produced at `workstation` between
    `window_before_s` before the condition started and the moment it returns to normal."""

    hold: Literal["lots"] = "lots"
    reason: str | None = Field(default=None, description="hold reason; default: alarm message")
    window_before_s: float = Field(default=0.0, ge=0)


class _AlarmBase(Strict):
    device: Segment = Field(description="device whose tag is watched (gives area/line/cell)")
    tag: Segment = Field(description="the tag watched")
    name: Segment | None = Field(
        default=None, description="last part of the id; default: hh/h/l/ll, state, roc, quality"
    )
    priority: Priority = "medium"
    message: str = Field(
        default=DEFAULT_MESSAGE,
        max_length=500,
        description="template: {alarm} {device} {tag} {name} {value} {limit} {unit} "
        "{priority} {path}",
    )
    on_delay_s: float = Field(default=0.0, ge=0, description="condition must hold this long")
    off_delay_s: float = Field(default=0.0, ge=0, description="normal must hold this long")
    workstation: str | None = Field(default=None, description="station the alarm belongs to")
    suppress_when: Suppression | None = Field(default=None, description="suppression by design")
    latching: bool = Field(default=False, description="return to normal waits for an ack")
    quality_action: QualityAction | None = Field(
        default=None, description="closed loop: hold what the workstation produced"
    )

    @model_validator(mode="after")
    def _check_template(self) -> "_AlarmBase":
        try:
            names = {f for _, f, _, _ in string.Formatter().parse(self.message) if f is not None}
        except ValueError as exc:
            raise ValueError(f"message template is malformed: {exc}") from None
        unknown = sorted(n for n in names if n.split(".")[0].split("[")[0] not in TEMPLATE_FIELDS)
        if unknown:
            allowed = ", ".join(sorted(TEMPLATE_FIELDS))
            raise ValueError(f"message uses unknown placeholder(s) {unknown}; allowed: {allowed}")
        if self.quality_action is not None and self.workstation is None:
            raise ValueError("quality_action needs the alarm's workstation")
        return self

    def default_name(self) -> str:
        raise NotImplementedError

    @property
    def alarm_id(self) -> str:
        return f"{self.device}.{self.tag}.{self.name or self.default_name()}"


class LimitAlarm(_AlarmBase):
    """Analogue limit. HH/H alarm at or above `limit`, L/LL at or below; it returns to normal
    only once the value is back inside the limit by more than `deadband` (hysteresis)."""

    kind: Literal["limit"]
    level: LimitLevel
    limit: float
    deadband: float = Field(default=0.0, ge=0)

    def default_name(self) -> str:
        return self.level.lower()

    @property
    def high(self) -> bool:
        return self.level in ("HH", "H")


class StateAlarm(_AlarmBase):
    """Discrete state: in alarm while the tag's value is one of `values`, e.g. FAULT."""

    kind: Literal["state"]
    values: list[StateValue] = Field(min_length=1)

    def default_name(self) -> str:
        return "state"


class RateOfChangeAlarm(_AlarmBase):
    """Rate of change: in alarm while |dvalue/dt| (per second, from source timestamps) exceeds
    `max_per_s` in the given direction."""

    kind: Literal["rate_of_change"]
    max_per_s: float = Field(gt=0)
    direction: Literal["rising", "falling", "both"] = "both"

    def default_name(self) -> str:
        return "roc"


class QualityAlarm(_AlarmBase):
    """Bad (or, optionally, uncertain or stale) data lasting `for_s` seconds."""

    kind: Literal["quality"]
    for_s: float = Field(default=10.0, ge=0)
    include_uncertain: bool = False
    include_stale: bool = True

    def default_name(self) -> str:
        return "quality"


AlarmDefinition = Annotated[
    LimitAlarm | StateAlarm | RateOfChangeAlarm | QualityAlarm, Field(discriminator="kind")
]


class _TagLike(Protocol):
    @property
    def name(self) -> str: ...


class _DeviceLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def tags(self) -> Iterable[_TagLike]: ...


class _StationLike(Protocol):
    @property
    def id(self) -> str: ...


def alarm_reference_problems(
    alarms: Iterable[AlarmDefinition],
    devices: Iterable[_DeviceLike],
    workstations: Iterable[_StationLike],
) -> Iterator[tuple[str, str]]:
    """Cross-reference checks: known device, tag and workstation; unique alarm ids."""
    tags = {d.name: {t.name for t in d.tags} for d in devices}
    stations = {w.id for w in workstations}
    seen: set[str] = set()
    for i, a in enumerate(alarms):
        where = f"alarms[{i}]"
        if a.device not in tags:
            yield f"{where}.device", f"unknown device {a.device!r}"
        else:
            if a.tag not in tags[a.device]:
                yield f"{where}.tag", f"device {a.device!r} has no tag {a.tag!r}"
            if a.suppress_when and a.suppress_when.tag not in tags[a.device]:
                yield (
                    f"{where}.suppress_when.tag",
                    f"device {a.device!r} has no tag {a.suppress_when.tag!r}",
                )
        if a.workstation is not None and a.workstation not in stations:
            yield f"{where}.workstation", f"unknown workstation {a.workstation!r}"
        if a.alarm_id in seen:
            yield f"{where}.name", f"duplicate alarm {a.alarm_id!r}: give it another name"
        seen.add(a.alarm_id)


class Webhook(Strict):
    """POST of every `_mes/alarms` / `_mes/holds` event, signed with HMAC-SHA256 when a secret
    is set (header `X-Shopfloor-Signature: sha256=<hex of HMAC(secret, "<ts>.<body>")>`)."""

    url: str = Field(pattern=r"^https?://")
    secret: SecretStr | None = None
    topics: list[Literal["alarms", "holds"]] = ["alarms", "holds"]
    timeout_s: float = Field(default=5.0, gt=0)


class Smtp(Strict):
    """E-mail for raised alarms of at least `min_priority` (and escalations)."""

    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    sender: str = "shopfloor@localhost"
    to: list[str] = Field(min_length=1)
    min_priority: Priority = "high"
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = False


class Escalation(Strict):
    """An unacknowledged alarm of these priorities notifies the next level after N minutes."""

    after_minutes: float = Field(default=10.0, gt=0)
    priorities: list[Priority] = ["critical", "high"]
    notify: list[str] = Field(default=[], description="e-mail addresses of the next level")


class AlarmSettings(Strict):
    """Notifications of the MES alarm and hold events."""

    webhooks: list[Webhook] = []
    webhook_retries: int = Field(default=5, ge=0)
    retry_backoff_s: float = Field(default=1.0, gt=0)
    smtp: Smtp | None = None
    escalation: Escalation = Escalation()
    check_interval_s: float = Field(default=5.0, gt=0, description="shelving and escalation")
    max_shelve_minutes: dict[Priority, float] = Field(
        default={"critical": 30, "high": 120, "medium": 480, "low": 1440},
        description="longest shelving per priority (supervisors only shelve)",
    )
