"""A small ERP for tests and demos: releases production orders over MQTT, records the MES's
confirmations (de-duplicated by message_id) and rejections, and acknowledges confirmations on
`_erp/acks` so that completed orders reach CLOSED."""

import json
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import typer
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from config.logs import setup_logging
from config.plant import Broker
from uns.client import make_client, parse_broker_url, probe_protocol
from uns.topics import Namespace

log = logging.getLogger(__name__)


@dataclass
class ErpLedger:
    """What the ERP has received, in arrival order."""

    confirmations: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    #: the MES's plans (`_mes/schedule`, an extension) and stock rejections
    schedules: list[dict[str, Any]] = field(default_factory=list)
    stock_rejections: list[dict[str, Any]] = field(default_factory=list)

    def for_order(self, erp_id: str) -> list[dict[str, Any]]:
        return [c for c in self.confirmations if c.get("erp_id") == erp_id]

    def finals(self) -> list[dict[str, Any]]:
        return [c for c in self.confirmations if c.get("final")]


class ErpSimulator:
    def __init__(
        self,
        broker: Broker,
        ns: Namespace,
        client_id: str = "shopfloor-erp-sim",
        ack: bool = True,
    ) -> None:
        self.broker = broker
        self.ns = ns
        self.ack = ack
        self.ledger = ErpLedger()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._ready = threading.Event()
        self.protocol = probe_protocol(broker)
        # a persistent session: confirmations sent while the ERP is away wait at the broker
        extra: dict[str, Any] = {}
        if self.protocol is not MQTTProtocolVersion.MQTTv5:
            extra["clean_session"] = False
        self.client = make_client(broker, client_id, protocol=self.protocol, **extra)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect

    def start(self, timeout: float = 10.0) -> "ErpSimulator":
        addr = parse_broker_url(self.broker.url)
        self.client.reconnect_delay_set(0.2, 2)  # type: ignore[arg-type]
        props = None
        extra: dict[str, Any] = {}
        if self.protocol is MQTTProtocolVersion.MQTTv5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 3600
            extra["clean_start"] = False
        self.client.connect(addr.host, addr.port, keepalive=15, properties=props, **extra)
        self.client.loop_start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"ERP simulator could not subscribe at {self.broker.url}")
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    # --- sending ----------------------------------------------------------------------------

    def send(self, message: dict[str, Any] | str) -> None:
        payload = message if isinstance(message, str) else json.dumps(message)
        self.client.publish(self.ns.erp_orders, payload, qos=1).wait_for_publish(10)

    def release(
        self,
        erp_id: str,
        product: str,
        quantity: int,
        routing: str,
        *,
        due_in: timedelta = timedelta(days=3),
        components: Sequence[dict[str, Any]] = (),
        message_id: str | None = None,
    ) -> str:
        message_id = message_id or uuid.uuid4().hex
        due = (datetime.now(UTC) + due_in).replace(microsecond=0)
        self.send(
            {
                "v": 1,
                "message_id": message_id,
                "type": "order.release",
                "order": {
                    "erp_id": erp_id,
                    "product": product,
                    "quantity": quantity,
                    "unit": "pcs",
                    "due_at": due.isoformat().replace("+00:00", "Z"),
                    "priority": 2,
                    "routing": routing,
                    "components": list(components),
                },
            }
        )
        return message_id

    def stock(
        self,
        material: str,
        on_hand: float,
        receipts: Sequence[tuple[datetime, float]] = (),
        *,
        unit: str = "pcs",
    ) -> str:
        """Send the stock of one material (`_erp/stock`, an extension of the contract)."""
        message_id = uuid.uuid4().hex
        message = {
            "v": 1,
            "message_id": message_id,
            "type": "stock.snapshot",
            "at": datetime.now(UTC).isoformat(),
            "materials": [
                {
                    "material": material,
                    "unit": unit,
                    "on_hand": on_hand,
                    "receipts": [{"at": t.isoformat(), "quantity": q} for t, q in receipts],
                }
            ],
        }
        self.client.publish(self.ns.erp_stock, json.dumps(message), qos=1).wait_for_publish(10)
        return message_id

    def change(self, erp_id: str, quantity: int | None = None, due_at: str | None = None) -> str:
        order: dict[str, Any] = {"erp_id": erp_id}
        if quantity is not None:
            order["quantity"] = quantity
        if due_at is not None:
            order["due_at"] = due_at
        return self._command("order.change", order)

    def cancel(self, erp_id: str) -> str:
        return self._command("order.cancel", {"erp_id": erp_id})

    def _command(self, kind: str, order: dict[str, Any]) -> str:
        message_id = uuid.uuid4().hex
        self.send({"v": 1, "message_id": message_id, "type": kind, "order": order})
        return message_id

    # --- waiting ----------------------------------------------------------------------------

    def wait(self, predicate: Any, timeout: float = 10.0) -> bool:
        """Wait until `predicate(ledger)` is true."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.ledger), timeout)

    # --- receiving --------------------------------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any = None
    ) -> None:
        if rc.is_failure:
            return
        client.subscribe(self.ns.confirmations, qos=1)
        client.subscribe(self.ns.erp_rejected, qos=1)
        client.subscribe(self.ns.schedule, qos=1)
        client.subscribe(self.ns.erp_stock_rejected, qos=1)
        self._ready.set()

    def _on_disconnect(self, *_args: Any) -> None:
        self._ready.clear()

    def wait_subscribed(self, timeout: float = 10.0) -> bool:
        """True once (re)connected and subscribed."""
        return self._ready.wait(timeout)

    def _on_message(self, client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            data = json.loads(msg.payload)
        except ValueError:
            log.warning("ERP simulator: non-JSON message on %s", msg.topic)
            return
        with self._changed:
            if msg.topic == self.ns.erp_rejected:
                self.ledger.rejections.append(data)
            elif msg.topic == self.ns.schedule:
                self.ledger.schedules.append(data)
            elif msg.topic == self.ns.erp_stock_rejected:
                self.ledger.stock_rejections.append(data)
            elif msg.topic == self.ns.confirmations:
                mid = data.get("message_id")
                if mid in self.ledger.seen:
                    self.ledger.duplicates += 1
                else:
                    self.ledger.seen.add(mid)
                    self.ledger.confirmations.append(data)
                if self.ack and mid:
                    client.publish(self.ns.erp_acks, json.dumps({"message_id": mid}), qos=1)
            self._changed.notify_all()


def due_in(index: int, due_minutes: float | None) -> timedelta:
    """When the `index`-th order (from 0) is due after its release: `due_minutes`, twice
    and three times that in turn (a demo's mix of tight and easy orders); 3 days without."""
    if due_minutes is None:
        return timedelta(days=3)
    return timedelta(minutes=due_minutes * (1 + index % 3))


@dataclass
class Releases:
    """The ERP's order book: numbered releases of one product and routing."""

    sim: ErpSimulator
    quantity: int
    product: str
    routing: str
    due_minutes: float | None = None
    stamp: str = field(default_factory=lambda: datetime.now(UTC).strftime("%y%m%d%H%M"))
    sent: int = 0

    def release(self) -> None:
        self.sim.release(
            f"PO-{self.stamp}-{self.sent + 1:03d}",
            self.product,
            self.quantity,
            self.routing,
            due_in=due_in(self.sent, self.due_minutes),
        )
        self.sent += 1


def run_erp(
    broker: Broker,
    ns: Namespace,
    orders: int,
    quantity: int,
    product: str,
    routing: str,
    due_minutes: float | None = None,
) -> Releases:
    """Release `orders` orders and keep recording (the CLI blocks until interrupted)."""
    book = Releases(ErpSimulator(broker, ns).start(), quantity, product, routing, due_minutes)
    for _ in range(orders):
        book.release()
    return book


def erp_command(
    config: Path = typer.Option(..., "-c", "--config", help="plant file"),
    orders: int = typer.Option(1, min=0, help="production orders to release at start"),
    quantity: int = typer.Option(50, min=1, help="quantity of each order"),
    routing: str | None = typer.Option(None, help="routing id (default: the first one)"),
    every: float | None = typer.Option(
        None, min=1, help="then release another order every this many seconds"
    ),
    due_minutes: float | None = typer.Option(
        None,
        min=0.1,
        help="orders due this many minutes after release (x1, x2, x3 in turn); default: 3 days",
    ),
) -> None:
    """Run the ERP simulator: release orders, record and acknowledge confirmations."""
    from config.loader import ConfigError, load_plant

    try:
        cfg = load_plant(config)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if not cfg.routings and orders:
        typer.echo("error: the plant file has no routings to order against", err=True)
        raise typer.Exit(2)
    rt = next((r for r in cfg.routings if r.id == routing), None) if routing else cfg.routings[0]
    if rt is None:
        typer.echo(f"error: no routing {routing!r} in the plant file", err=True)
        raise typer.Exit(2)
    setup_logging("info", service="erp-simulator")
    ns = Namespace(cfg.plant.enterprise, cfg.plant.site)
    book = run_erp(cfg.broker, ns, orders, quantity, rt.product, rt.id, due_minutes)
    sim = book.sim
    seen = 0
    next_release = time.monotonic() + every if every else None
    try:
        while True:
            wait_s = 3600.0 if next_release is None else max(next_release - time.monotonic(), 0)
            sim.wait(lambda led, n=seen: len(led.confirmations) > n, wait_s)
            if next_release is not None and time.monotonic() >= next_release:
                book.release()
                next_release += every or 0
            new = list(sim.ledger.confirmations[seen:])
            seen += len(new)
            for c in new:
                log.info(
                    "confirmation %s %s/%s good=%s scrap=%s final=%s",
                    c.get("erp_id"),
                    c.get("work_order"),
                    c.get("operation"),
                    c.get("good"),
                    c.get("scrap"),
                    c.get("final"),
                )
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
