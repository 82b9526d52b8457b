"""The edge agent: one process that runs every device of the plant file, the northbound
publisher, write requests (MQTT `_cmd/write` and REST) and the metrics endpoint.

Each device has its own driver task and pipeline: a driver that fails is logged, reported as
`disconnected` and restarted with backoff, and never stops the others.
"""

import asyncio
import gc
import inspect
import logging
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import orjson
from paho.mqtt.enums import MQTTProtocolVersion

from config.files import private_file
from config.plant import Device, PlantConfig
from edge.drivers.base import DeviceState, Driver, DriverHost
from edge.drivers.registry import DriverRegistry, built_in
from edge.metrics import AgentMetrics
from edge.model import Reading, ReadingBlock
from edge.northbound.encode import write_result_payload
from edge.northbound.http import AgentHttp, http_server
from edge.northbound.publisher import UNS_PAYLOADS, Northbound, NorthboundStats
from edge.northbound.tokens import CallerTokens
from edge.sparkplug.fanout import Fanout
from edge.sparkplug.node import SparkplugNode
from edge.stopping import raise_if_cancelled
from edge.writes import MQTT_CALLER, SPARKPLUG_CALLER, Caller
from uns.client import BrokerUnreachable, probe_with_retries
from uns.topics import Namespace

log = logging.getLogger(__name__)

DriverFactory = Callable[[Device, Path], Driver]
PipelineFactory = Callable[..., Any]
_RESTART_MAX_S = 30.0
_STOP_GRACE_S = 5.0
AUDIT_FILE = "write-audit.jsonl"
RAMP_FILE = "write-ramps.json"


class AgentStartError(Exception):
    """The agent cannot start; the message is the one-line reason."""


class WriteHandler(Protocol):
    def handle(self, device: str, request: dict[str, Any], caller: Caller) -> Any:
        """Returns the result dict (or an awaitable of it)."""

    def refuse(
        self, device: str, caller: Caller, error: str, payload: bytes | None = None
    ) -> dict[str, Any]:
        """Audits an attempt that never became a request; returns its result."""


def _default_pipeline_factory(drivers: DriverRegistry) -> PipelineFactory:
    from edge.pipeline.device import DevicePipeline

    def create(device: Device, sink: Any, on_status: Any, observers: Any) -> Any:
        return DevicePipeline(device, sink, on_status, observers=observers, drivers=drivers)

    return create


class AuditLog:
    """The write audit trail: one JSON line per attempt in `{state_dir}/write-audit.jsonl`,
    also logged on the `edge.audit` logger."""

    def __init__(self, path: Path) -> None:
        self.path = private_file(path)
        self.log = logging.getLogger("edge.audit")

    def __call__(self, entry: dict[str, Any]) -> None:
        self.log.info("write", extra={k: v for k, v in entry.items() if k != "at"})
        with self.path.open("ab") as f:
            f.write(orjson.dumps(entry, default=str) + b"\n")


class _CountingHost:
    """The pipeline as the driver sees it, counting values read on the way."""

    def __init__(self, pipeline: DriverHost, count: Callable[[float], None]) -> None:
        self.pipeline = pipeline
        self.count = count

    def readings(self, readings: Sequence[Reading]) -> None:
        self.count(len(readings))
        self.pipeline.readings(readings)

    def poll(self, blocks: Sequence[ReadingBlock], readings: Sequence[Reading]) -> None:
        self.count(len(readings) + sum(len(b.tags) for b in blocks))
        self.pipeline.poll(blocks, readings)

    def status(self, state: DeviceState, error: str | None = None) -> None:
        self.pipeline.status(state, error)


class EdgeAgent:
    def __init__(
        self,
        cfg: PlantConfig,
        *,
        driver_factory: DriverFactory | None = None,
        pipeline_factory: PipelineFactory | None = None,
        write_handler: Callable[[dict[str, Driver]], WriteHandler] | None = None,
        protocol: MQTTProtocolVersion | None = None,
        drivers: DriverRegistry | None = None,
    ) -> None:
        """`drivers`: the registry `cfg` was read with (default: this build's drivers)."""
        drivers = drivers or built_in()
        self.cfg = cfg
        self.ns = Namespace(cfg.plant.enterprise, cfg.plant.site)
        self.paths = {d.name: d.path for d in cfg.devices}
        self.driver_factory = driver_factory or drivers.create_driver
        self.pipeline_factory = pipeline_factory or _default_pipeline_factory(drivers)
        self.write_handler_factory = write_handler
        self.protocol = protocol
        self.northbound: Northbound | None = None
        self.sparkplug: SparkplugNode | None = None
        self.metrics: AgentMetrics | None = None
        self.drivers: dict[str, Driver] = {}
        self.writes: WriteHandler | None = None
        self.started = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- the interface other parts call ------------------------------------------------------

    def publish_durable(
        self, topic: str, payload: bytes, retain: bool = False, qos: int = 1
    ) -> None:
        if self.northbound is None:
            raise RuntimeError("the agent is not running")
        self.northbound.publish_durable(topic, payload, retain, qos)

    async def write(self, device: str, request: dict[str, Any], caller: Caller) -> dict[str, Any]:
        """One write request (from MQTT or REST); the result of the write contract."""
        rid = request.get("request_id")
        if self.writes is None:
            return {"request_id": rid, "ok": False, "error": "the agent is not running"}
        started = time.perf_counter()
        try:
            result = self.writes.handle(device, request, caller)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:
            log.exception("write to %s failed", device)
            result = {"request_id": rid, "ok": False, "error": f"write failed: {exc}"}
        if self.metrics is not None and device in self.drivers:
            outcome = "ok" if result.get("ok") else "refused"
            self.metrics.values_written.labels(device, outcome).inc()
            self.metrics.write_latency.labels(device).observe(time.perf_counter() - started)
        return dict(result)

    # -- running -----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Start everything, run until `stop` is set, then shut down cleanly (agent offline)."""
        self._loop = asyncio.get_running_loop()
        sock = self._bind_http()
        protocol = self.protocol
        if protocol is None:
            protocol = await asyncio.to_thread(self._probe)
        e = self.cfg.edge
        nb = None
        if any(p in UNS_PAYLOADS for p in e.payloads):
            nb = Northbound(
                self.cfg.broker, self.ns, e.agent_id, self.paths, e.queue, protocol,
                e.per_tag_topics, payloads=e.payloads,
            )  # fmt: skip
        self.northbound = nb
        spb = self._sparkplug(protocol) if "sparkplug_b" in e.payloads else None
        self.sparkplug = spb
        out = Fanout(nb, spb)
        stats = nb.stats if nb is not None else spb.stats if spb is not None else None
        metrics = AgentMetrics(stats or NorthboundStats(), self._overruns)
        self.metrics = metrics
        state_dir = Path(e.state_dir)
        await asyncio.to_thread(state_dir.mkdir, parents=True, exist_ok=True)
        observers = self._observers(out)
        tasks: list[asyncio.Task[Any]] = []
        hosts: dict[str, _CountingHost] = {}
        for dev in self.cfg.devices:
            try:
                driver = self.driver_factory(dev, state_dir)
            except Exception as exc:
                raise AgentStartError(
                    f"device {dev.name}: cannot create its driver: {exc}"
                ) from exc
            self.drivers[dev.name] = driver
            pipeline = self.pipeline_factory(dev, out, out.device_status, observers)
            hosts[dev.name] = _CountingHost(pipeline, metrics.values_read.labels(dev.name).inc)
        self.writes = (self.write_handler_factory or self._default_writes)(self.drivers)
        if nb is not None:
            nb.subscribe(f"{self.ns.root}/+/+/+/+/_cmd/write", self._on_write_message)
            nb.start()
        if spb is not None:
            spb.start()
        for name, host in hosts.items():
            out.device_status(name, "connecting")
            tasks.append(asyncio.create_task(self._supervise(name, host), name=f"device-{name}"))
            ticks = getattr(host.pipeline, "run_ticks", None)
            if ticks is not None:
                tasks.append(asyncio.create_task(ticks(), name=f"ticks-{name}"))
        for obs in observers:
            if hasattr(obs, "run_ticks"):
                tasks.append(asyncio.create_task(obs.run_ticks(), name="alarm-ticks"))
        server: Any = None
        if sock is not None:
            legacy = e.api_token.get_secret_value() if e.api_token else None
            tokens = CallerTokens(e.api_tokens, legacy)
            server = http_server(AgentHttp(metrics.render, self.write, self.refuse_write, tokens))
            tasks.append(asyncio.create_task(server.serve(sockets=[sock]), name="http"))
        # what start-up built (modules, config, clients) lives as long as the process: keep
        # the collector from rescanning it on every full collection of the polling garbage
        gc.collect()
        gc.freeze()
        self.started.set()
        log.info("edge agent running", extra={"agent": e.agent_id, "devices": len(hosts)})
        try:
            await stop.wait()
        finally:
            if server is not None:
                server.should_exit = True
            for t in tasks:
                if t.get_name() != "http":
                    t.cancel()
            pending = set(tasks)
            while pending:  # a task that lost one cancel request is asked again, not awaited
                _, pending = await asyncio.wait(pending, timeout=_STOP_GRACE_S)
                for t in pending:
                    log.warning("stopping: %s is still running; cancelling it again", t.get_name())
                    t.cancel()
            if spb is not None:
                await asyncio.to_thread(spb.stop)
            if nb is not None:
                await asyncio.to_thread(nb.stop)
            log.info("edge agent stopped", extra={"agent": e.agent_id})

    def _bind_http(self) -> socket.socket | None:
        port = self.cfg.edge.metrics_port
        if port is None:
            return None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.cfg.edge.bind, port))
        except OSError as exc:
            sock.close()
            raise AgentStartError(
                f"cannot listen on {self.cfg.edge.bind}:{port} (edge.metrics_port): {exc.strerror}"
            ) from None
        sock.listen(64)
        sock.setblocking(False)
        return sock

    def _probe(self) -> MQTTProtocolVersion:
        try:
            return probe_with_retries(self.cfg.broker)
        except BrokerUnreachable as exc:
            raise AgentStartError(str(exc)) from None

    def _sparkplug(self, protocol: MQTTProtocolVersion) -> SparkplugNode:
        """The Sparkplug B edge node; its DCMD writes go through `write` like any other."""
        loop = asyncio.get_running_loop()

        def write(device: str, tag: str, value: Any) -> None:
            request = {"v": 1, "request_id": f"spb-{uuid.uuid4()}", "tag": tag, "value": value}
            loop.call_soon_threadsafe(
                lambda: asyncio.ensure_future(self.write(device, request, SPARKPLUG_CALLER))
            )

        def refuse(device: str, reason: str) -> None:
            loop.call_soon_threadsafe(self.refuse_write, device, SPARKPLUG_CALLER, reason)

        return SparkplugNode(self.cfg, protocol, write, refuse)

    def _observers(self, nb: Fanout) -> list[Any]:
        try:
            from edge.alarms.observer import build_alarm_observer
        except ImportError:
            return []
        observer = build_alarm_observer(self.cfg, nb)
        return [] if observer is None else [observer]

    def _default_writes(self, drivers: dict[str, Driver]) -> WriteHandler:
        from edge.writes import WriteService

        devices = {d.name: (d, drivers[d.name]) for d in self.cfg.devices}
        state = Path(self.cfg.edge.state_dir)
        return WriteService(devices, AuditLog(state / AUDIT_FILE), ramp_state=state / RAMP_FILE)

    def refuse_write(
        self, device: str, caller: Caller, error: str, payload: bytes | None = None
    ) -> dict[str, Any]:
        """Audit a write attempt that never became a request (no valid token, not JSON)."""
        if self.writes is None:
            return {"request_id": None, "ok": False, "error": error}
        return dict(self.writes.refuse(device, caller, error, payload))

    def _overruns(self) -> dict[str, int]:
        out = {}
        for name, driver in self.drivers.items():
            n = getattr(driver, "overruns", 0)
            out[name] = int((n() if callable(n) else n) or 0)
        return out

    async def _supervise(self, name: str, host: _CountingHost) -> None:
        delay = 1.0
        while True:
            try:
                await self.drivers[name].run(host)
                log.warning("driver of %s returned; restarting", name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise_if_cancelled()
                log.exception("driver of %s failed; restarting in %.0f s", name, delay)
                host.status("disconnected", f"driver error: {exc}")
            raise_if_cancelled()
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RESTART_MAX_S)

    # -- MQTT write requests -----------------------------------------------------------------

    def _on_write_message(self, topic: str, payload: bytes) -> None:
        """On paho's thread: hand the request to the event loop."""
        parts = topic.split("/")
        if len(parts) < 3 or self._loop is None:
            return
        device = parts[-3]
        self._loop.call_soon_threadsafe(
            lambda: asyncio.ensure_future(self._mqtt_write(device, payload))
        )

    async def _mqtt_write(self, device: str, payload: bytes) -> None:
        try:
            request = orjson.loads(payload)
            if not isinstance(request, dict):
                raise ValueError("a write request is a JSON object")
        except ValueError as exc:
            result = self.refuse_write(device, MQTT_CALLER, f"bad request: {exc}", payload)
        else:
            result = await self.write(device, request, MQTT_CALLER)
        path = self.paths.get(device)
        if path is None:
            log.warning("write request for unknown device %s", device)
            return
        self.publish_durable(self.ns.cmd_result(path, device), write_result_payload(result))
