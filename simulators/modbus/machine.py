"""Simulated Modbus machines: stamping presses behind a TCP gateway or an RTU line.

Use from tests:

    sim = ModbusSimulator([press_config(port)])        # several configs = several unit ids
    await sim.start()
    press = sim.machine("press-01")
    press.set_exception("holding_register", 5, 4)      # answer server_device_failure there
    press.freeze(); press.press.fire("trip")
    sim.server.faults.delay_s = 2.0; sim.server.drop_connections()
    await sim.stop(); await sim.start()                 # killed and restarted on the same port
"""

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence

from edge.drivers.modbus.codec import encode
from simulators.behaviour import Production
from simulators.config import ModbusMachineConfig
from simulators.modbus.pdu import RegisterBank
from simulators.modbus.press import Press, PressState
from simulators.modbus.registers import EXTRA_BASE, PRESS_MAP, STATUS_WORD, press_register
from simulators.modbus.server import ModbusRtuServer, ModbusTcpServer

log = logging.getLogger(__name__)


class PressMachine:
    """One press at one unit id: the model and the register bank it fills."""

    def __init__(self, cfg: ModbusMachineConfig) -> None:
        self.cfg = cfg
        m = cfg.press
        self.press = Press(
            stroke_rate_spm=m.stroke_rate_spm,
            ambient_c=m.ambient_c,
            running_c=m.running_c,
            time_constant_s=m.time_constant_s,
            noise_c=m.noise_c,
            fault_rate_per_h=m.fault_rate_per_h,
            temperature=m.ambient_c,
        )
        if cfg.behaviour.enabled:
            self.press.behaviour = Production(cfg.behaviour, cfg.seed, m.recipe)
            self.press.behaviour.hold(True)
        if m.auto_start:
            self.press.fire("start")
        self.recipe = m.recipe
        self.rng = random.Random(cfg.seed)
        self.bank = RegisterBank(size=max(1000, EXTRA_BASE + cfg.extra_registers))
        self.frozen = False
        self.updates = 0
        self.publish()

    # -- fault injection ---------------------------------------------------------------------

    def freeze(self, frozen: bool = True) -> None:
        """Stop changing the registers (the device answers, but its values are stuck)."""
        self.frozen = frozen

    def set_exception(self, area: str, address: int, code: int) -> None:
        """Answer every request touching `address` of `area` with Modbus exception `code`."""
        self.bank.exceptions[(area, address)] = code

    def clear_exceptions(self) -> None:
        self.bank.exceptions.clear()

    # -- model -------------------------------------------------------------------------------

    def _source(self, name: str) -> object:
        p = self.press
        if name == "state":
            return int(p.state)
        if name == "running":
            return p.state is PressState.RUNNING
        if name == "faulted":
            return p.state is PressState.FAULT
        if name == "recipe":
            return self.press.behaviour.recipe if self.press.behaviour else self.recipe
        value = getattr(p, name)
        return value

    def publish(self) -> None:
        """Copy the model into the registers."""
        bank = self.bank
        for reg in PRESS_MAP:
            value = self._source(reg.source)
            if reg.type == "bit":
                continue
            if reg.area in ("coil", "discrete_input"):
                bank.area(reg.area)[reg.address] = bool(value)
                continue
            if isinstance(value, float) and reg.type[:3] in ("int", "uin") and reg.scale == 1.0:
                value = int(value)
            assert isinstance(value, int | float | str)
            bank.set_registers(reg.area, reg.address, encode(reg.layout, value))
        status = (1 if self.press.state is PressState.RUNNING else 0) | (
            2 if self.press.state is PressState.FAULT else 0
        )
        bank.holding_registers[STATUS_WORD] = status
        n = self.cfg.extra_registers
        if n:
            base = (self.updates * 7) & 0xFFFF  # a ramp (base + i) & 0xFFFF, built in C:
            wrap = min(n, 0x10000 - base)
            regs = bank.holding_registers
            regs[EXTRA_BASE : EXTRA_BASE + wrap] = range(base, base + wrap)
            regs[EXTRA_BASE + wrap : EXTRA_BASE + n] = range(n - wrap)

    def apply_writes(self) -> None:
        """Take what clients wrote: the stroke-rate setpoint and the run command coil."""
        bank = self.bank
        setpoint = press_register("stroke_rate_setpoint").address
        if setpoint in bank.written:
            self.press.stroke_rate_spm = bank.written[setpoint]
        run = press_register("run_command").address
        if run in bank.written_coils:
            wanted = bank.written_coils[run]
            with contextlib.suppress(Exception):
                if wanted and self.press.state is PressState.IDLE:
                    self.press.fire("start")
                elif not wanted and self.press.state not in (PressState.IDLE, PressState.FAULT):
                    self.press.fire("stop")
        bank.written.clear()
        bank.written_coils.clear()

    def step(self, dt_s: float) -> None:
        self.apply_writes()
        if self.frozen:
            return
        self.press.step(dt_s, self.rng)
        self.updates += 1
        self.publish()

    async def run(self) -> None:
        """Update at the configured rate (fixed rate: a late update skips, never queues)."""
        interval = self.cfg.update_interval_ms / 1000
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        last = time.monotonic()
        while True:
            next_at += interval
            now = loop.time()
            if now > next_at:
                next_at = now
            await asyncio.sleep(next_at - now)
            t = time.monotonic()
            self.step(t - last)
            last = t


class ModbusSimulator:
    """Every Modbus machine that shares one endpoint (one TCP port or one serial line)."""

    def __init__(self, cfgs: Sequence[ModbusMachineConfig]) -> None:
        if not cfgs:
            raise ValueError("a Modbus simulator needs at least one machine")
        first = cfgs[0]
        self.machines = {c.name: PressMachine(c) for c in cfgs}
        banks = {c.unit_id: self.machines[c.name].bank for c in cfgs}
        self.server: ModbusTcpServer | ModbusRtuServer
        if first.serial is not None:
            s = first.serial
            self.server = ModbusRtuServer(s.port, banks, s.baudrate, s.parity)
        else:
            self.server = ModbusTcpServer(first.host, first.port, banks)
        self._tasks: list[asyncio.Task[None]] = []

    def machine(self, name: str) -> PressMachine:
        return self.machines[name]

    async def start(self) -> None:
        """Serve (again) on the same endpoint; the models keep running while stopped."""
        await self.server.start()
        if not self._tasks:
            self._tasks = [asyncio.create_task(m.run()) for m in self.machines.values()]

    async def stop(self) -> None:
        """Stop answering (close the port and every connection); the models keep their state."""
        await self.server.stop()

    async def close(self) -> None:
        await self.server.stop()
        tasks, self._tasks = self._tasks, []
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def __aenter__(self) -> "ModbusSimulator":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def endpoint_key(cfg: ModbusMachineConfig) -> tuple[str, str | int]:
    return ("serial", cfg.serial.port) if cfg.serial else (cfg.host, cfg.port)


async def serve(cfgs: Sequence[ModbusMachineConfig], stop: asyncio.Event) -> None:
    """Run Modbus machines until `stop` is set; machines on one endpoint share one server."""
    groups: dict[tuple[str, str | int], list[ModbusMachineConfig]] = {}
    for c in cfgs:
        groups.setdefault(endpoint_key(c), []).append(c)
    sims = [ModbusSimulator(g) for g in groups.values()]
    try:
        for sim, (key, group) in zip(sims, groups.items(), strict=True):
            await sim.start()
            names = ", ".join(f"{c.name} (unit {c.unit_id})" for c in group)
            log.info("modbus simulator on %s:%s: %s", key[0], key[1], names)
        await stop.wait()
    finally:
        for sim in sims:
            await sim.close()
