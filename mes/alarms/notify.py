"""Delivery of alarm and hold events from the notification outbox: MQTT (`_mes/alarms`,
`_mes/holds`, QoS 1), webhooks (HMAC-signed, retried with backoff), optional e-mail, and the
live stream to browsers (server-sent events).

A row is taken in id order; its MQTT publish must be acknowledged (PUBACK) before it is marked;
webhooks and e-mail are retried independently, so a dead webhook never holds up MQTT.
"""

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import smtplib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
from paho.mqtt.enums import MQTTProtocolVersion
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, or_, select

from config.alarms import AlarmSettings, Smtp, Webhook
from config.plant import Broker
from mes.alarms.models import Notification
from uns.client import make_client, parse_broker_url
from uns.topics import Namespace

log = logging.getLogger(__name__)

PRIORITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}
SIGNATURE_HEADER = "X-Shopfloor-Signature"
TIMESTAMP_HEADER = "X-Shopfloor-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>.<body>")."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


#: offered to every stream when the hub closes: the stream ends after it
END_OF_STREAM: dict[str, Any] = {"topic": None}


class EventHub:
    """Fan-out to server-sent-event streams; fed from any thread."""

    def __init__(self, max_queue: int = 1000) -> None:
        self._subs: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]] = []
        self._lock = threading.Lock()
        self._max = max_queue
        self._closed = False

    def subscribe(self) -> "asyncio.Queue[dict[str, Any]]":
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self._max)
        with self._lock:
            self._subs.append((asyncio.get_running_loop(), q))
            if self._closed:
                q.put_nowait(END_OF_STREAM)
        return q

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def close(self) -> None:
        """End every stream (the server is stopping); any thread."""
        with self._lock:
            self._closed = True
        self.publish(END_OF_STREAM)

    def unsubscribe(self, q: "asyncio.Queue[dict[str, Any]]") -> None:
        with self._lock:
            self._subs = [(lp, s) for lp, s in self._subs if s is not q]

    def publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            subs = list(self._subs)
        for loop, q in subs:
            try:
                loop.call_soon_threadsafe(_offer, q, event)
            except RuntimeError:  # that loop is closed
                self.unsubscribe(q)


def _offer(q: "asyncio.Queue[dict[str, Any]]", event: dict[str, Any]) -> None:
    if q.full():  # a slow browser loses the oldest, never blocks the relay
        q.get_nowait()
    q.put_nowait(event)


def send_email(smtp: Smtp, to: list[str], subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg.set_content(body)
    with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as client:
        if smtp.starttls:
            client.starttls()
        if smtp.username:
            pw = smtp.password.get_secret_value() if smtp.password else ""
            client.login(smtp.username, pw)
        client.send_message(msg)


def email_for(event: dict[str, Any]) -> tuple[str, str]:
    subject = f"[{event.get('priority', '').upper()}] {event.get('alarm')} {event.get('state')}"
    if event.get("action") == "escalated":
        subject = "ESCALATED " + subject
    lines = [f"{k}: {v}" for k, v in event.items() if v is not None]
    return subject, "\n".join(lines)


@dataclass
class RelayStats:
    mqtt_published: int = 0
    webhook_posts: int = 0
    webhook_failures: int = 0
    emails: int = 0
    pending: int = 0
    last_error: str | None = None
    by_topic: dict[str, int] = field(default_factory=dict)


class NotificationRelay:
    """One thread draining the notification outbox."""

    def __init__(
        self,
        engine: Engine,
        broker: Broker,
        namespace: Namespace,
        settings: AlarmSettings,
        hub: EventHub | None = None,
        client_id: str = "shopfloor-mes-alarms-relay",
        batch: int = 500,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.hub = hub or EventHub()
        self.topics = {"alarms": namespace.alarms, "holds": namespace.holds}
        self.stats = RelayStats()
        self._batch = batch
        self._wake = threading.Event()
        self._wake_side = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._http = httpx.Client()  # thread-safe; shared by the delivery pool
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="alarm-webhook")
        self._broker = broker
        self._client = make_client(broker, client_id, protocol=MQTTProtocolVersion.MQTTv311)
        self._client.reconnect_delay_set(1, 5)

    def start(self) -> None:
        addr = parse_broker_url(self._broker.url)
        self._client.connect_async(addr.host, addr.port, keepalive=30)
        self._client.loop_start()
        # MQTT and the side channels (webhooks, e-mail) each have their own loop, so that a
        # slow webhook never delays `_mes/alarms`
        self._threads = [
            threading.Thread(
                target=self._loop, args=(self.publish_once, self._wake), name="alarm-mqtt"
            ),
            threading.Thread(
                target=self._loop, args=(self.side_once, self._wake_side), name="alarm-hooks"
            ),
        ]
        for t in self._threads:
            t.daemon = True
            t.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._wake_side.set()
        for t in self._threads:
            t.join(10)
        self._client.disconnect()
        self._client.loop_stop()
        self._pool.shutdown(wait=True)
        self._http.close()

    def wake(self) -> None:
        """Call after committing notifications, so they leave at once."""
        self._wake.set()
        self._wake_side.set()

    def _loop(self, step: Callable[[], bool], wake: threading.Event) -> None:
        while not self._stop.is_set():
            try:
                busy = step()
            except Exception as exc:  # a database hiccup: retry, never die
                log.exception("alarm relay failed; retrying")
                self.stats.last_error = str(exc)
                busy = False
            if not busy:
                wake.wait(0.5)
                wake.clear()

    def publish_once(self) -> bool:
        """Publish the oldest unpublished rows in order; True when there may be more."""
        with Session(self.engine) as session:
            to_publish = session.exec(
                select(Notification)
                .where(col(Notification.mqtt_at).is_(None))
                .order_by(col(Notification.id))
                .limit(self._batch)
            ).all()
            published = self._mqtt(session, list(to_publish))
            session.commit()
        self.stats.pending = len(to_publish) - published
        return published == self._batch

    def side_once(self) -> bool:
        """Webhooks and e-mail for due rows. No database lock is held while waiting on the
        network: rows are read, delivered, then marked in a short transaction."""
        now = datetime.now(UTC)
        with Session(self.engine, expire_on_commit=False) as session:
            side = session.exec(
                select(Notification)
                .where(col(Notification.webhooks_at).is_(None))
                .where(
                    or_(
                        col(Notification.next_attempt_at).is_(None),
                        col(Notification.next_attempt_at) <= now,
                    )
                )
                .order_by(col(Notification.id))
                .limit(self._batch)
            ).all()
            session.expunge_all()
        if not side:
            return False
        # in parallel: webhooks do not promise order (MQTT does)
        list(self._pool.map(lambda r: self._deliver_side_channels(r, now), side))
        with Session(self.engine) as session:
            for row in side:
                session.add(row)
            session.commit()
        return len(side) == self._batch

    def _mqtt(self, session: Session, rows: list[Notification]) -> int:
        """Publish in order; returns how many the broker acknowledged."""
        if not rows or not self._client.is_connected():
            return 0
        infos = []
        for row in rows:
            info = self._client.publish(self.topics[row.topic], row.payload.encode(), qos=1)
            infos.append((row, info))
        deadline = time.monotonic() + 5
        done = 0
        for row, info in infos:
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(max(0.01, deadline - time.monotonic()))
            if not info.is_published():
                return done  # the rest is sent again next round (at-least-once)
            row.mqtt_at = datetime.now(UTC)
            session.add(row)
            self.stats.mqtt_published += 1
            self.stats.by_topic[row.topic] = self.stats.by_topic.get(row.topic, 0) + 1
            self.hub.publish({"topic": row.topic, **json.loads(row.payload)})
            done += 1
        return done

    def _deliver_side_channels(self, row: Notification, now: datetime) -> None:
        event = json.loads(row.payload)
        errors: list[str] = []
        for hook in self.settings.webhooks:
            if row.topic not in hook.topics:
                continue
            err = self._post(hook, row.topic, row.payload.encode())
            if err:
                errors.append(err)
        smtp = self.settings.smtp
        if smtp is not None and row.email_at is None and self._wants_email(smtp, row, event):
            to = list(smtp.to)
            if event.get("action") == "escalated":
                to = list(self.settings.escalation.notify) or to
            try:
                send_email(smtp, to, *email_for(event))
                row.email_at = now
                self.stats.emails += 1
            except (OSError, smtplib.SMTPException) as exc:
                errors.append(f"smtp: {exc}")
        if not errors:
            row.webhooks_at = now
            row.last_error = None
            return
        row.attempts += 1
        row.last_error = "; ".join(errors)[:500]
        self.stats.last_error = row.last_error
        if row.attempts > self.settings.webhook_retries:
            log.error(
                "giving up notification %s after %d attempts: %s", row.id, row.attempts, errors
            )
            row.webhooks_at = now  # given up; last_error says why
        else:
            backoff = self.settings.retry_backoff_s * 2 ** (row.attempts - 1)
            row.next_attempt_at = now + timedelta(seconds=backoff)

    @staticmethod
    def _wants_email(smtp: Smtp, row: Notification, event: dict[str, Any]) -> bool:
        if row.topic != "alarms" or event.get("action") not in ("raised", "escalated"):
            return False
        rank = PRIORITY_RANK.get(str(event.get("priority")), 0)
        return rank >= PRIORITY_RANK[smtp.min_priority]

    def _post(self, hook: Webhook, topic: str, body: bytes) -> str | None:
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: ts,
            "X-Shopfloor-Topic": topic,
        }
        if hook.secret is not None:
            headers[SIGNATURE_HEADER] = sign(hook.secret.get_secret_value(), ts, body)
        try:
            resp = self._http.post(hook.url, content=body, headers=headers, timeout=hook.timeout_s)
        except httpx.HTTPError as exc:
            self.stats.webhook_failures += 1
            return f"{hook.url}: {type(exc).__name__}"
        if resp.status_code >= 300:
            self.stats.webhook_failures += 1
            return f"{hook.url}: HTTP {resp.status_code}"
        self.stats.webhook_posts += 1
        return None
