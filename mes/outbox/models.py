"""The transactional outbox: messages for the broker, written with the change that caused them."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from mes.core.clock import utcnow


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=64, unique=True)
    kind: str = Field(max_length=16, description="confirmation | rejection")
    erp_id: str | None = Field(default=None, max_length=64, index=True)
    work_order_id: int | None = Field(default=None, index=True)
    final: bool = False
    payload: str
    created_at: datetime = Field(default_factory=utcnow)
    published_at: datetime | None = Field(default=None, index=True)
    acked_at: datetime | None = None
