"""The load-test block (`extra_registers`): a ramp that moves on every update, wrapping at
65535, and served as big-endian registers."""

import struct

from simulators.config import ModbusMachineConfig
from simulators.modbus.machine import PressMachine
from simulators.modbus.pdu import handle_pdu
from simulators.modbus.registers import EXTRA_BASE


def test_extra_registers_ramp_wraps_and_is_served_big_endian() -> None:
    n = 1000
    machine = PressMachine(ModbusMachineConfig(kind="modbus", name="p", extra_registers=n, seed=1))
    regs = machine.bank.holding_registers
    size = len(regs)
    for _ in range(9400):  # base = updates * 7 passes 65535 on the way: the ramp wraps
        machine.step(0.01)
        base = (machine.updates * 7) & 0xFFFF
        if base > 0x10000 - n:
            break
    assert base > 0x10000 - n
    expected = [(base + i) & 0xFFFF for i in range(n)]
    assert regs[EXTRA_BASE : EXTRA_BASE + n] == expected
    assert len(regs) == size
    reply = handle_pdu(machine.bank, struct.pack(">BHH", 3, EXTRA_BASE, 125))
    assert reply[:2] == bytes((3, 250))
    assert list(struct.unpack(">125H", reply[2:])) == expected[:125]
