"""The language-neutral form of an alarm's message (pure): a catalogue key of the pages
(`alarm.msg.*` in mes/i18n/*.po) and its parameters, next to the English `message` the edge
or the MES wrote. A page shows `t(key, params)` in its own language.

- An alarm of the plant file with the default message template: a text per kind (limit high or
  low, state, rate of change, quality) naming device, tag, level, value and limit.
- An alarm whose definition has its own `message` template: `alarm.msg.custom` with the
  message as written (`text`): the plant wrote it in its own language; it is shown as is.
- The MES's own alarms: an edge agent offline, a device's connection state.
- Anything else (an alarm no longer in the plant file): no key; pages show `message`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from config.alarms import DEFAULT_MESSAGE, AlarmDefinition

AGENT_SUFFIX = "._edge.offline"
DEVICE_SUFFIX = "._status.disconnected"


@dataclass(frozen=True, slots=True)
class Text:
    key: str
    params: dict[str, Any]


class AlarmTexts:
    """The definitions of the plant file by alarm id."""

    def __init__(self, definitions: Iterable[AlarmDefinition]) -> None:
        self.by_id = {d.alarm_id: d for d in definitions}

    def of(
        self, alarm: str, value: Any, limit: float | None, message: str, active: bool
    ) -> Text | None:
        if alarm.endswith(AGENT_SUFFIX):
            agent = alarm.removesuffix(AGENT_SUFFIX)
            key = "alarm.msg.agent_offline" if active else "alarm.msg.agent_online"
            return Text(key, {"agent": agent})
        if alarm.endswith(DEVICE_SUFFIX):
            device = alarm.removesuffix(DEVICE_SUFFIX)
            head = f"device {device} {value}"
            error = message[len(head) + 2 :] if message.startswith(f"{head}: ") else ""
            state = value if isinstance(value, str) else ""
            key = "alarm.msg.device_error" if error else "alarm.msg.device_state"
            return Text(key, {"device": device, "state": state, "error": error})
        d = self.by_id.get(alarm)
        if d is None:
            return None
        if d.message != DEFAULT_MESSAGE:
            return Text("alarm.msg.custom", {"text": message})
        params: dict[str, Any] = {
            "alarm": alarm,
            "device": d.device,
            "tag": d.tag,
            "value": value,
            "limit": limit,
        }
        if d.kind == "limit":
            params["level"] = d.level
            return Text(f"alarm.msg.limit_{'high' if d.high else 'low'}", params)
        return Text(f"alarm.msg.{d.kind}", params)
