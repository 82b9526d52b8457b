"""Small builders shared by the alarm tests."""

from typing import Any

from pydantic import TypeAdapter

from config.alarms import AlarmDefinition
from edge.model import Quality, Reading, Value

_ADAPTER: TypeAdapter[AlarmDefinition] = TypeAdapter(AlarmDefinition)


def alarm(**fields: Any) -> AlarmDefinition:
    base: dict[str, Any] = {"device": "oven-01", "tag": "temperature"}
    base.update(fields)
    return _ADAPTER.validate_python(base)


def reading(
    tag: str, value: Value, ts: int, quality: Quality = Quality.GOOD, stale: bool = False
) -> Reading:
    return Reading(tag, value, quality, ts, ts, unit="degC", stale=stale)
