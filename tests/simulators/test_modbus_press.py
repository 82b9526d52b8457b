"""The press model and the slave's PDU handling, pure."""

import random
import struct

import pytest

from simulators.modbus.pdu import RegisterBank, crc16, handle_pdu, request_length
from simulators.modbus.press import IllegalTransition, Press, PressState


def test_press_state_machine() -> None:
    p = Press()
    assert p.fire("start") is PressState.RUNNING
    assert p.fire("trip") is PressState.FAULT
    with pytest.raises(IllegalTransition, match="cannot start while FAULT"):
        p.fire("start")
    assert p.fire("reset") is PressState.IDLE


def test_running_press_counts_strokes_and_warms_up() -> None:
    p = Press(stroke_rate_spm=120, noise_c=0.0)
    p.fire("start")
    rng = random.Random(1)
    for _ in range(100):
        p.step(0.1, rng)  # 10 s at 2 strokes/s
    assert p.cycle_count == 20
    assert p.total_strokes == 20
    assert p.spindle_speed > 2000
    assert p.temperature > p.ambient_c
    p.fire("stop")
    assert p.spindle_speed == 0.0


def test_pdu_reads_writes_and_exceptions() -> None:
    bank = RegisterBank(size=100)
    bank.holding_registers[3:5] = [0x1234, 0xABCD]
    assert handle_pdu(bank, struct.pack(">BHH", 3, 3, 2)) == bytes([3, 4, 0x12, 0x34, 0xAB, 0xCD])
    assert handle_pdu(bank, struct.pack(">BHH", 3, 99, 2)) == bytes([0x83, 2])  # past the end
    assert handle_pdu(bank, struct.pack(">BHH", 3, 0, 126)) == bytes([0x83, 3])  # too many
    assert handle_pdu(bank, struct.pack(">BHH", 6, 10, 7)) == struct.pack(">BHH", 6, 10, 7)
    assert bank.written == {10: 7}
    bank.exceptions[("holding_register", 11)] = 6
    assert handle_pdu(bank, struct.pack(">BHH", 3, 10, 5)) == bytes([0x83, 6])
    assert handle_pdu(bank, struct.pack(">BHH", 5, 2, 0xFF00)) == struct.pack(">BHH", 5, 2, 0xFF00)
    assert handle_pdu(bank, struct.pack(">BHH", 1, 0, 10)) == bytes([1, 2, 0b100, 0])
    assert handle_pdu(bank, bytes([43, 14, 1])) == bytes([0xAB, 1])  # unsupported function


def test_rtu_framing_helpers() -> None:
    # the classic example frame: unit 1, read holding registers 0..1 -> CRC 0x0BC4 (C4 0B)
    frame = bytes([1, 3, 0, 0, 0, 2])
    assert crc16(frame).to_bytes(2, "little") == bytes([0xC4, 0x0B])
    assert request_length(frame) == 8
    assert request_length(bytes([1, 16, 0, 0, 0, 2])) is None
    assert request_length(bytes([1, 16, 0, 0, 0, 2, 4])) == 13
