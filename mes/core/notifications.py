"""The outbox of notifications (`_mes/alarms`, `_mes/holds`, webhooks, e-mail): rows written
in the same transaction as the change they tell about, delivered by the alarms'
`NotificationRelay`."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from mes.core.clock import utcnow


class Notification(SQLModel, table=True):
    """An event to deliver (MQTT topic and webhooks), stored with the change that caused it.

    `topic` is `alarms` or `holds`; the relay publishes to `_mes/{topic}` and then to each
    webhook, and marks the row delivered only when all of them accepted it."""

    __tablename__ = "alarm_notification"

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(max_length=16)
    payload: str
    created_at: datetime = Field(default_factory=utcnow)
    mqtt_at: datetime | None = None
    webhooks_at: datetime | None = None
    email_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: datetime | None = Field(default=None, index=True)
