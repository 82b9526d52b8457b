"""Case folders (tests/edge/modbus_cases/<case>/): `device.yaml` (a device's keys, plus
`registers` for decoding cases) and either `error.txt` (a configuration error that must be
reported, with that text) or `expected.txt` (`tag: value` lines the driver decodes from the
registers). Add a case by adding a folder; regressions are named after their issue."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from edge.drivers.modbus.config import ModbusDevice
from edge.drivers.modbus.driver import compile_read, decode_block
from edge.drivers.modbus.planner import plan_reads
from edge.model import Quality, Reading

CASES = Path(__file__).parent / "modbus_cases"


def load(case: Path) -> tuple[dict[str, Any], list[int]]:
    data = yaml.safe_load((case / "device.yaml").read_text())
    registers = data.pop("registers", [])
    device = {
        "name": "dev",
        "path": "a/b/c",
        "driver": "modbus_tcp",
        "connection": {"host": "127.0.0.1", "port": 502},
    } | data
    return device, registers


@pytest.mark.parametrize("case", sorted(CASES.iterdir()), ids=lambda p: p.name)
def test_case(case: Path) -> None:
    device, registers = load(case)
    error = case / "error.txt"
    if error.exists():
        with pytest.raises(ValidationError) as info:
            ModbusDevice.model_validate(device)
        assert error.read_text().strip() in str(info.value)
        return
    cfg = ModbusDevice.model_validate(device)
    out: list[Reading] = []
    for req in plan_reads(cfg.tags, cfg.limits, cfg.addressing):
        block = registers[req.address : req.address + req.count]
        decode_block(compile_read(req), block, 0, out)
    assert all(r.quality is Quality.GOOD for r in out)
    got = "\n".join(f"{r.tag}: {r.value}" for r in out)
    assert got == (case / "expected.txt").read_text().strip()
