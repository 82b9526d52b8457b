"""A simulated curing oven served over OPC UA, with fault injection for tests and demos.

Node ids (namespace index 2, `prefix` defaults to "Oven"):

    ns=2;s=Oven.Temperature  Double degC        ns=2;s=Oven.Setpoint     Double (writable)
    ns=2;s=Oven.DoorOpen     Boolean            ns=2;s=Oven.State        String
    ns=2;s=Oven.HeaterPower  Double %           ns=2;s=Oven.BatchCount   UInt32
  with `behaviour.enabled` also:
    ns=2;s=Oven.MachineState UInt16 (simulators/behaviour.py codes)
    ns=2;s=Oven.FaultCode    UInt16 (0: none)   ns=2;s=Oven.GoodCount / ScrapCount UInt32
    ns=2;s=Oven.Extra.00000 ... Double (only with `extra_variables`; browse name X00000,
                                 in blocks of 500 under Oven/Extra)

Use from tests:

    machine = OvenMachine(cfg)
    await machine.start()
    machine.set_temperature(250.0)      # excursion, held until release_temperature()
    machine.drop_connections(); machine.set_delay(2.0); machine.freeze()
    machine.set_bad("Temperature", "BadSensorFailure"); await machine.restart()
"""

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from asyncua import Server, ua
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.internal_server import InternalServer

from edge.drivers.opcua.pki import certificate_fits, write_self_signed
from simulators.behaviour import Production
from simulators.opcua.config import OpcUaMachineConfig
from simulators.opcua.oven import Oven
from simulators.opcua.proxy import FaultProxy

log = logging.getLogger(__name__)

_POLICIES = {
    "None": ua.SecurityPolicyType.NoSecurity,
    "Sign": ua.SecurityPolicyType.Basic256Sha256_Sign,
    "SignAndEncrypt": ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
}


@dataclass(frozen=True, slots=True)
class _Var:
    name: str
    vtype: ua.VariantType
    writable: bool = False


_OVEN_VARS = (
    _Var("Temperature", ua.VariantType.Double),
    _Var("Setpoint", ua.VariantType.Double, writable=True),
    _Var("DoorOpen", ua.VariantType.Boolean),
    _Var("State", ua.VariantType.String),
    _Var("HeaterPower", ua.VariantType.Double),
    _Var("BatchCount", ua.VariantType.UInt32),
)
#: served only with `behaviour.enabled` (without it the oven offers what it always did)
_PRODUCTION_VARS = (
    _Var("MachineState", ua.VariantType.UInt16),
    _Var("FaultCode", ua.VariantType.UInt16),
    _Var("GoodCount", ua.VariantType.UInt32),
    _Var("ScrapCount", ua.VariantType.UInt32),
)


def _nid(identifier: str, ns: int) -> ua.NodeId:
    return ua.NodeId.from_string(f"ns={ns};s={identifier}")


def _value(dv: ua.DataValue) -> Any:
    return dv.Value.Value if dv.Value is not None else None


class _Users:
    """Username/password check for the simulated server (asyncua user manager)."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def get_user(
        self,
        iserver: InternalServer,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        if username is not None and self.users.get(username) == password:
            return User(role=UserRole.User, name=username)
        return None


class OvenMachine:
    """One simulated oven: an asyncua server, the oven physics and the fault switches."""

    def __init__(self, cfg: OpcUaMachineConfig) -> None:
        self.cfg = cfg
        url = urlparse(cfg.endpoint)
        self.host = url.hostname or "127.0.0.1"
        self.port = int(url.port or 4840)
        self.oven = Oven.from_config(cfg.oven)
        if cfg.behaviour.enabled:
            self.oven.production = Production(cfg.behaviour, cfg.seed)
        self.rng = random.Random(cfg.seed)
        self.frozen = False
        self.bad: dict[str, int] = {}
        self.server: Server | None = None
        self.proxy: FaultProxy | None = None
        self.ns = 2
        self._nodes: dict[str, ua.NodeId] = {}
        self._task: asyncio.Task[None] | None = None
        self._tick = 0
        self.ready = asyncio.Event()

    # ---- life cycle -----------------------------------------------------------------

    @property
    def pki_dir(self) -> Path:
        return Path(self.cfg.security.pki_dir)

    @property
    def cert_file(self) -> Path:
        return self.pki_dir / "cert.der"

    def node_id(self, name: str) -> str:
        """The string node id of a variable, e.g. "ns=2;s=Oven.Temperature"."""
        return f"ns={self.ns};s={self.cfg.prefix}.{name}"

    def variable_names(self) -> list[str]:
        """Every variable served (the oven's, with `behaviour` its production ones, extras)."""
        return [v.name for v in self._vars()] + self.extra_names()

    def extra_names(self) -> list[str]:
        return [f"Extra.{i:05d}" for i in range(self.cfg.extra_variables)]

    async def _build_server(self) -> Server:
        sec = self.cfg.security
        users = {u: p.get_secret_value() for u, p in sec.users.items()}
        server = Server(user_manager=_Users(users) if users else None)  # type: ignore[arg-type]
        await server.init()
        server.disable_clock()  # its 1 s loop would hold up every stop by a second
        server.set_server_name(f"shopfloor simulated {self.cfg.name}")
        await server.set_application_uri(f"urn:shopfloor:sim:{self.cfg.name}")
        server.set_endpoint(self.cfg.endpoint)
        if self.cfg.fault_proxy:
            server.socket_address = ("127.0.0.1", 0)
        server.set_security_policy([_POLICIES[m] for m in sec.modes])
        if users:
            server.set_identity_tokens([ua.UserNameIdentityToken])
        if any(m != "None" for m in sec.modes):
            key_file = self.pki_dir / "key.pem"
            app_uri = server.get_application_uri()
            if not certificate_fits(self.cert_file, key_file, app_uri):
                write_self_signed(self.cert_file, key_file, app_uri, "server")
            await server.load_certificate(str(self.cert_file))
            await server.load_private_key(str(key_file))
        self.ns = await server.register_namespace(self.cfg.namespace)
        await self._add_nodes(server)
        return server

    async def _add_nodes(self, server: Server) -> None:
        ns, prefix = self.ns, self.cfg.prefix
        obj = await server.nodes.objects.add_object(_nid(prefix, ns), f"{ns}:{prefix}")
        values = self._model_values()
        for var in self._vars():
            nid = _nid(f"{prefix}.{var.name}", ns)
            node = await obj.add_variable(
                nid, f"{ns}:{var.name}", ua.Variant(values[var.name], var.vtype), var.vtype
            )
            if var.writable:
                await node.set_writable()
            self._nodes[var.name] = nid
        if self.cfg.extra_variables:
            # asyncua adds children in O(children): blocks of 500 keep 10k nodes to seconds
            extra = await obj.add_object(_nid(f"{prefix}.Extra", ns), f"{ns}:Extra")
            block = extra
            for i, name in enumerate(self.extra_names()):
                if i % 500 == 0:
                    block_id = f"{prefix}.Extra.Block{i // 500:03d}"
                    block = await extra.add_object(_nid(block_id, ns), f"{ns}:Block{i // 500:03d}")
                nid = _nid(f"{prefix}.{name}", ns)
                await block.add_variable(nid, f"{ns}:X{name[6:]}", 0.0, ua.VariantType.Double)
                self._nodes[name] = nid

    async def start(self) -> None:
        """Serve on the configured endpoint; returns when clients can connect."""
        self.ready.clear()
        self._nodes.clear()
        server = await self._build_server()
        await server.start()
        self.server = server
        await self._publish(datetime.now(UTC))
        if self.cfg.fault_proxy:
            assert server.bserver is not None
            self.proxy = FaultProxy(self.host, self.port, server.bserver.port)
            await self.proxy.start()
        self._task = asyncio.create_task(self._run(), name=f"sim-{self.cfg.name}")
        self.ready.set()
        log.info("simulated OPC UA machine %s on %s", self.cfg.name, self.cfg.endpoint)

    async def stop(self) -> None:
        """Stop serving: connections drop, the port closes. Oven state survives a restart."""
        self.ready.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.proxy is not None:
            await self.proxy.stop()
            self.proxy = None
        if self.server is not None:
            self._read_back_setpoint()
            await self.server.stop()
            self.server = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def __aenter__(self) -> "OvenMachine":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- fault injection ----------------------------------------------------------------

    def reset_faults(self) -> None:
        """Undo every injected fault: unfrozen, no bad codes, no delay, temperature free."""
        self.frozen = False
        self.bad.clear()
        self.oven.held = None
        if self.proxy is not None:
            self.proxy.delay_s = 0.0
        self._publish_soon()

    def drop_connections(self) -> int:
        """Close every client connection now (the server keeps running)."""
        if self.proxy is not None:
            return self.proxy.drop_connections()
        if self.server is None:
            return 0
        transports = list(self.server.iserver.asyncio_transports)
        for t in transports:
            t.close()
        return len(transports)

    def set_delay(self, seconds: float) -> None:
        """Delay every response (and request) by `seconds`; needs `fault_proxy`."""
        if self.proxy is None:
            raise RuntimeError("response delay needs fault_proxy: true")
        self.proxy.delay_s = seconds

    def freeze(self, frozen: bool = True) -> None:
        """Frozen values stop changing (no new source timestamps either)."""
        self.frozen = frozen

    def set_bad(self, name: str, status: str = "BadSensorFailure") -> None:
        """From now on `name` reports `status` (any StatusCodes name, Bad or Uncertain)."""
        self._check_name(name)
        self.bad[name] = getattr(ua.StatusCodes, status)
        self._publish_soon()

    def clear_bad(self, name: str | None = None) -> None:
        if name is None:
            self.bad.clear()
        else:
            self.bad.pop(name, None)
        self._publish_soon()

    def set_temperature(self, celsius: float, hold: bool = True) -> None:
        """Inject a temperature (an excursion); with `hold` it stays until released."""
        self.oven.temperature = celsius
        self.oven.held = celsius if hold else None
        self._publish_soon()

    def release_temperature(self) -> None:
        self.oven.held = None

    def set_setpoint(self, celsius: float) -> None:
        self.oven.setpoint = celsius
        self._publish_soon()

    def set_door(self, is_open: bool) -> None:
        self.oven.open_door(is_open)
        self._publish_soon()

    def value(self, name: str) -> Any:
        """The current value of a variable as a client would read it."""
        self._check_name(name)
        if self.server is None:
            raise RuntimeError("machine is stopped")
        return _value(self.server.read_attribute_value(self._nodes[name]))

    async def set_value(self, name: str, value: Any, source_ts: datetime | None = None) -> None:
        """Write a variable directly (e.g. an extra); source timestamp default: now."""
        self._check_name(name)
        await self._write(name, value, source_ts or datetime.now(UTC))

    # ---- internals ----------------------------------------------------------------------

    def _check_name(self, name: str) -> None:
        if name not in self._nodes:
            raise KeyError(f"{self.cfg.name} has no variable {name!r}")

    def _model_values(self) -> dict[str, Any]:
        o = self.oven
        return {
            "Temperature": round(o.temperature, 3),
            "Setpoint": float(o.setpoint),
            "DoorOpen": o.door_open,
            "State": o.state.value,
            "HeaterPower": round(o.heater_power, 2),
            "BatchCount": o.batch_count,
        } | (
            {
                "MachineState": int(o.machine_state),
                "FaultCode": o.fault_code,
                "GoodCount": o.good_count,
                "ScrapCount": o.scrap_count,
            }
            if o.production is not None
            else {}
        )

    def _vars(self) -> tuple[_Var, ...]:
        return _OVEN_VARS + (_PRODUCTION_VARS if self.oven.production is not None else ())

    def _vtype(self, name: str) -> ua.VariantType:
        for var in self._vars():
            if var.name == name:
                return var.vtype
        return ua.VariantType.Double

    async def _write(self, name: str, value: Any, now: datetime) -> None:
        assert self.server is not None
        status = ua.StatusCode(self.bad.get(name, ua.StatusCodes.Good))  # type: ignore[arg-type]
        dv = ua.DataValue(
            ua.Variant(value, self._vtype(name)),
            StatusCode=status,
            SourceTimestamp=now,  # type: ignore[arg-type]
            ServerTimestamp=now,  # type: ignore[arg-type]
        )
        await self.server.write_attribute_value(self._nodes[name], dv)

    def _read_back_setpoint(self) -> None:
        """Clients may have written the setpoint: the oven follows it."""
        if self.server is None or "Setpoint" not in self._nodes:
            return
        sp = _value(self.server.read_attribute_value(self._nodes["Setpoint"]))
        if isinstance(sp, int | float) and not isinstance(sp, bool):
            self.oven.setpoint = float(sp)

    async def _publish(self, now: datetime) -> None:
        for name, value in self._model_values().items():
            if name == "Setpoint":
                if name in self.bad:
                    await self._write(name, value, now)
                continue  # clients own the setpoint between ticks
            await self._write(name, value, now)
        if self.cfg.extra_variables and (self.cfg.extra_change or self._tick == 0):
            base = float(self._tick)
            for i, name in enumerate(self.extra_names()):
                await self._write(name, base + i * 1e-6, now)

    def _publish_soon(self) -> None:
        if self.server is not None:
            task = asyncio.get_running_loop().create_task(self._publish(datetime.now(UTC)))
            task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    async def _run(self) -> None:
        interval = self.cfg.update_interval_ms / 1000
        next_at = time.monotonic()
        while True:
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            if next_at < time.monotonic() - interval:
                next_at = time.monotonic()  # overrun: skip, do not queue up ticks
            if self.frozen:
                continue
            self._read_back_setpoint()
            self.oven.step(interval, self.rng)
            self._tick += 1
            await self._publish(datetime.now(UTC))


async def serve(machine_cfg: OpcUaMachineConfig, stop: asyncio.Event) -> None:
    """Run one simulated OPC UA machine until `stop` is set (`shopfloor sim run`)."""
    machine = OvenMachine(machine_cfg)
    await machine.start()
    try:
        await stop.wait()
    finally:
        await machine.stop()
