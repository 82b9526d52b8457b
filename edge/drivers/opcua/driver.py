"""The OPC UA driver: one device, one or more sessions, subscriptions or polling.

Tags are split into subscriptions of at most `max_items_per_subscription` items, and the
subscriptions into sessions of at most `max_subscriptions_per_session`. Each session runs
its own connect/acquire/reconnect loop, so a slow or broken part does not stall the rest.
While a session is down its tags read bad with the reason (e.g. "BadNotConnected"); on
reconnect the session and its subscriptions are created afresh.
"""

import asyncio
import logging
import random
import time
from collections.abc import Sequence
from pathlib import Path

from asyncua import Client, ua

from edge.drivers.base import DriverHost, WriteFailed, WriteRefused
from edge.drivers.opcua import codec
from edge.drivers.opcua.config import OpcUaDevice, OpcUaTag
from edge.drivers.opcua.connect import close_quietly, describe_error, open_client, reason_of
from edge.drivers.opcua.namespaces import UNKNOWN_NAMESPACE, needs_namespace_array, resolve
from edge.drivers.opcua.status import StatusBoard
from edge.drivers.opcua.subscription import BatchSubscription, ItemSpec, subscribe
from edge.model import Reading, Value, now_ms
from edge.stopping import raise_if_cancelled

log = logging.getLogger(__name__)


def parse_items(cfg: OpcUaDevice) -> list[ItemSpec]:
    """Node ids parsed up front: a bad one is a configuration error naming the tag."""
    items = []
    for tag in cfg.tags:
        try:
            node_id = ua.NodeId.from_string(tag.node_id)
        except Exception as exc:
            raise ValueError(
                f"device {cfg.name}, tag {tag.name}: bad node_id {tag.node_id!r}: {exc}"
            ) from exc
        items.append(ItemSpec(tag, node_id))
    return items


def chunks(seq: Sequence[ItemSpec], size: int) -> list[list[ItemSpec]]:
    return [list(seq[i : i + size]) for i in range(0, len(seq), size)]


class _Session:
    """One OPC UA session and the tags it acquires."""

    def __init__(self, index: int, cfg: OpcUaDevice, groups: list[list[ItemSpec]]) -> None:
        self.index = index
        self.cfg = cfg
        self.groups = groups
        self.items = [it for g in groups for it in g]
        #: the groups with `nsu=` node ids resolved on the current connection
        self.live_groups = groups
        self.resolved = {it.tag.name: it for it in self.items}
        self.client: Client | None = None
        self.subscriptions: list[BatchSubscription] = []
        self.overruns = 0
        self.connects = 0
        self._lost: asyncio.Event = asyncio.Event()
        self._lost_reason = "BadConnectionClosed"

    def _mark_lost(self, reason: str) -> None:
        self._lost_reason = reason
        self._lost.set()

    def _bad_all(self, host: DriverHost, reason: str) -> None:
        now = now_ms()
        host.readings([codec.bad_reading(i.tag.name, i.tag.unit, reason, now) for i in self.items])

    async def run(self, host: DriverHost, board: StatusBoard) -> None:
        cfg = self.cfg
        delay = cfg.reconnect_min_ms / 1000
        reported_down = False
        while True:
            if not reported_down:
                board.set(self.index, "connecting")
            error: BaseException | None = None
            client: Client | None = None
            try:
                self._lost = asyncio.Event()
                client = await open_client(
                    cfg.endpoint,
                    cfg.security,
                    cfg.timeout_ms / 1000,
                    cfg.name,
                )

                async def lost(exc: Exception) -> None:
                    self._mark_lost(reason_of(exc))

                client.connection_lost_callback = lost
                self.connects += 1
                unknown = await self._resolve(client)
                refused = await self._start(client, host)
                refused.update(dict.fromkeys(unknown, UNKNOWN_NAMESPACE))
                self.client = client
                reported_down = False
                delay = cfg.reconnect_min_ms / 1000
                if refused:
                    now = now_ms()
                    by_name = {i.tag.name: i.tag for i in self.items}
                    host.readings(
                        [codec.bad_reading(n, by_name[n].unit, r, now) for n, r in refused.items()]
                    )
                    detail = ", ".join(
                        unknown.get(n, f"{n}: {r}") for n, r in sorted(refused.items())
                    )
                    board.set(self.index, "degraded", f"items refused by the server: {detail}")
                else:
                    board.set(self.index, "connected")
                await self._acquire(client, host)
                reason = self._lost_reason
                log.warning("%s session %d lost: %s", cfg.name, self.index, reason)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any device fault becomes bad quality
                error = exc
                reason = reason_of(exc)
                log.warning("%s session %d: %s", cfg.name, self.index, describe_error(exc))
            finally:
                self.client = None
                for sub in self.subscriptions:
                    sub.closed = True
                self.subscriptions = []
                if client is not None:
                    await close_quietly(client, 1.0)
            raise_if_cancelled()
            if not reported_down:
                self._bad_all(host, reason)
                reported_down = True
            board.set(
                self.index,
                "disconnected",
                describe_error(error) if error is not None else f"connection lost: {reason}",
            )
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, cfg.reconnect_max_ms / 1000)

    async def _resolve(self, client: Client) -> dict[str, str]:
        """Resolve `nsu=` node ids against this server's namespace array; returns
        {tag: message} for namespace URIs the server does not know."""
        if not needs_namespace_array(self.items):
            return {}
        array = await asyncio.wait_for(client.get_namespace_array(), self.cfg.timeout_ms / 1000)
        unknown: dict[str, str] = {}
        self.live_groups = []
        for group in self.groups:
            items, missing = resolve(group, array)
            unknown.update(missing)
            if items:
                self.live_groups.append(items)
        self.resolved = {it.tag.name: it for g in self.live_groups for it in g}
        for message in unknown.values():
            log.error("%s: %s", self.cfg.name, message)
        return unknown

    async def _start(self, client: Client, host: DriverHost) -> dict[str, str]:
        """Create the subscriptions (subscription mode); returns refused items."""
        if self.cfg.mode != "subscription":
            return {}
        refused: dict[str, str] = {}
        for group in self.live_groups:
            sub, bad = await subscribe(
                client, group, self.cfg.publishing_interval_ms, host.readings, self._mark_lost
            )
            self.subscriptions.append(sub)
            refused.update(bad)
        return refused

    async def _acquire(self, client: Client, host: DriverHost) -> None:
        """Returns when the connection is lost."""
        if self.cfg.mode == "subscription":
            await self._watch(client)
            return
        poller = asyncio.create_task(self._poll(client, host))
        lost = asyncio.create_task(self._lost.wait())
        try:
            done, _ = await asyncio.wait({poller, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            poller.cancel()
            lost.cancel()
        if poller in done and not poller.cancelled() and poller.exception() is not None:
            exc = poller.exception()
            assert exc is not None
            self._lost_reason = reason_of(exc)

    async def _watch(self, client: Client) -> None:
        """Returns when the connection is lost. Publish responses (data or keep-alive) prove
        it alive; only a connection quiet for a whole watchdog interval is probed."""
        interval = self.cfg.watchdog_interval_ms / 1000
        timeout = self.cfg.timeout_ms / 1000
        while not self._lost.is_set():
            try:
                await asyncio.wait_for(self._lost.wait(), interval)
                return
            except TimeoutError:
                pass
            last = max((s.last_publish_at or 0.0 for s in self.subscriptions), default=0.0)
            if time.monotonic() - last < interval:
                continue
            try:
                await asyncio.wait_for(client.nodes.server_state.read_value(), timeout)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of the probe means lost
                self._mark_lost(reason_of(exc))

    async def _poll(self, client: Client, host: DriverHost) -> None:
        """Fixed-rate reads without drift; an overrun is counted and skipped, not queued."""
        interval = self.cfg.poll_interval_ms / 1000
        live = [it for g in self.live_groups for it in g]
        requests = [self._read_params(c) for c in chunks(live, self.cfg.max_nodes_per_read)]
        timeout = self.cfg.timeout_ms / 1000
        next_at = time.monotonic()
        while True:
            acquired = now_ms()
            batch: list[Reading] = []
            for items, params in requests:
                values = await asyncio.wait_for(client.uaclient.read(params), timeout)
                for spec, dv in zip(items, values, strict=True):
                    t = spec.tag
                    batch.append(
                        codec.reading(
                            t.name,
                            t.unit,
                            dv.Value.Value if dv.Value is not None else None,
                            dv.StatusCode.value if dv.StatusCode is not None else 0,
                            dv.SourceTimestamp,
                            dv.ServerTimestamp,
                            acquired,
                        )
                    )
            host.readings(batch)
            next_at += interval
            now = time.monotonic()
            if now > next_at:
                missed = int((now - next_at) / interval) + 1
                self.overruns += missed
                log.warning("%s: poll overran by %d interval(s)", self.cfg.name, missed)
                next_at += missed * interval
            await asyncio.sleep(next_at - now)

    @staticmethod
    def _read_params(items: list[ItemSpec]) -> tuple[list[ItemSpec], ua.ReadParameters]:
        params = ua.ReadParameters()
        params.MaxAge = 0
        params.TimestampsToReturn = ua.TimestampsToReturn.Both
        for spec in items:
            rv = ua.ReadValueId()
            rv.NodeId = spec.node_id
            rv.AttributeId = ua.AttributeIds.Value
            params.NodesToRead.append(rv)
        return items, params


class OpcUaDriver:
    """The `Driver` for one OPC UA device (see edge/drivers/base.py)."""

    def __init__(self, cfg: OpcUaDevice, state_dir: Path) -> None:
        self.cfg = cfg
        self.state_dir = state_dir
        items = parse_items(cfg)
        groups = chunks(items, cfg.max_items_per_subscription)
        per_session = cfg.max_subscriptions_per_session
        self.sessions = [
            _Session(i, cfg, groups[start : start + per_session])
            for i, start in enumerate(range(0, len(groups), per_session))
        ]
        self._session_of = {it.tag.name: s for s in self.sessions for it in s.items}
        self._items = {it.tag.name: it for it in items}
        self._write_types: dict[str, str] = {}

    @property
    def overruns(self) -> int:
        return sum(s.overruns for s in self.sessions)

    async def run(self, host: DriverHost) -> None:
        board = StatusBoard(len(self.sessions), host)
        async with asyncio.TaskGroup() as tg:
            for s in self.sessions:
                tg.create_task(s.run(host, board), name=f"opcua-{self.cfg.name}-{s.index}")

    async def write(self, tag: str, value: Value) -> None:
        spec = self._items.get(tag)
        if spec is None:
            raise WriteRefused(f"device {self.cfg.name} has no tag {tag!r}")
        if not spec.tag.writable:
            raise WriteRefused(f"tag {tag!r} of device {self.cfg.name} is not writable")
        session = self._session_of[tag]
        client = session.client
        if client is None:
            raise WriteFailed(f"device {self.cfg.name} is not connected")
        if tag not in session.resolved:
            raise WriteFailed(f"tag {tag!r}: the server does not know its namespace URI")
        spec = session.resolved[tag]
        timeout = self.cfg.timeout_ms / 1000
        try:
            raw = await asyncio.wait_for(
                self._raw_for_write(client, spec.tag, spec, value), timeout
            )
            status = await asyncio.wait_for(self._write_raw(client, spec, raw), timeout)
        except WriteRefused:
            raise
        except ValueError as exc:
            raise WriteRefused(f"tag {tag!r}: {exc}") from exc
        except Exception as exc:
            raise WriteFailed(f"tag {tag!r}: {describe_error(exc)}") from exc
        if status.value & 0x80000000:
            raise WriteFailed(f"tag {tag!r}: device refused: {codec.status_name(status.value)}")

    async def _raw_for_write(
        self, client: Client, tag: OpcUaTag, spec: ItemSpec, value: Value
    ) -> ua.Variant:
        vtype = self._write_types.get(tag.name)
        if vtype is None:
            vtype = (await client.get_node(spec.node_id).read_data_type_as_variant_type()).name
            self._write_types[tag.name] = vtype
        raw = codec.value_for_write(value, tag.scale, tag.offset, vtype)
        return ua.Variant(raw, getattr(ua.VariantType, vtype))

    @staticmethod
    async def _write_raw(client: Client, spec: ItemSpec, variant: ua.Variant) -> ua.StatusCode:
        wv = ua.WriteValue()
        wv.NodeId = spec.node_id
        wv.AttributeId = ua.AttributeIds.Value
        wv.Value = ua.DataValue(variant)
        params = ua.WriteParameters()
        params.NodesToWrite = [wv]
        results = await client.uaclient.write(params)
        return results[0]
