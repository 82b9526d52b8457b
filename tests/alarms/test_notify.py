"""The notification relay against real services: e-mail to an aiosmtpd sink, `_mes/alarms`
held back while the broker is down and delivered when it is back, live events to SSE queues."""

import asyncio
import json
from collections.abc import Callable, Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session

from config.alarms import AlarmSettings
from config.plant import Broker
from mes.alarms.models import Notification
from mes.alarms.notify import EventHub, NotificationRelay
from tests.northbound.helpers import Collector
from tests.quality.db import database
from tests.services.mosquitto import Mosquitto
from tests.services.ports import free_port, wait_for
from uns.topics import Namespace

NS = Namespace("acme", "plant1")


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def event(action: str, priority: str, alarm: str = "oven-01.temperature.hh") -> str:
    return json.dumps(
        {
            "v": 1,
            "event_id": f"{alarm}:{action}",
            "alarm": alarm,
            "state": "active_unacked",
            "priority": priority,
            "action": action,
            "message": "hot",
        }
    )


async def test_email_sse_and_mqtt_after_a_broker_outage(
    smtp: tuple[Inbox, int], mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path
) -> None:
    inbox, port = smtp
    engine = database(f"sqlite:///{tmp_path}/mes.db")
    broker = mosquitto_factory().start()
    # the subscriber's persistent session is on the broker before the relay can publish: the
    # relay reconnects by itself once the broker is back, maybe before a new subscriber would
    Collector(broker.url, NS.alarms, client_id="col-relay").close()
    broker.stop()  # the broker is down (its sessions kept on disk)
    settings = AlarmSettings.model_validate(
        {
            "smtp": {"port": port, "to": ["shift@plant.example"], "min_priority": "high"},
            "escalation": {"notify": ["manager@plant.example"]},
        }
    )
    with Session(engine) as s:
        s.add(Notification(topic="alarms", payload=event("raised", "critical")))
        s.add(Notification(topic="alarms", payload=event("raised", "low", "a.b.l")))
        s.add(Notification(topic="alarms", payload=event("escalated", "critical")))
        s.commit()
    hub = EventHub()
    live = hub.subscribe()
    relay = NotificationRelay(engine, Broker(url=broker.url), NS, settings, hub)
    relay.start()
    try:
        await asyncio.to_thread(wait_for, lambda: len(inbox.messages) == 2, 10, "two e-mails")
        subjects = {to[0]: message_from_bytes(raw)["Subject"] for to, raw in inbox.messages}
        assert subjects == {  # e-mails go out in parallel: no order between them
            "shift@plant.example": "[CRITICAL] oven-01.temperature.hh active_unacked",
            "manager@plant.example": "ESCALATED [CRITICAL] oven-01.temperature.hh active_unacked",
        }
        assert relay.stats.mqtt_published == 0  # nothing acknowledged while the broker is down
        broker.start()
        col = Collector(broker.url, NS.alarms, client_id="col-relay")  # its session again
        relay.wake()
        await asyncio.to_thread(wait_for, lambda: len(col.messages) == 3, 15, "3 on _mes/alarms")
        assert [json.loads(p)["action"] for _, p, _ in col.messages] == [
            "raised",
            "raised",
            "escalated",
        ]
        first = await asyncio.wait_for(live.get(), 5)
        assert (first["topic"], first["action"]) == ("alarms", "raised")
        col.close()
    finally:
        await asyncio.to_thread(relay.stop)
