"""Case folders (tests/edge/modbus_cases/<case>/): `device.yaml` (a device's keys, plus
`registers` for decoding cases) and either `error.txt` (the problems `shopfloor config check`
reports for a plant file holding that device, one per line, exactly) or `expected.txt`
(`tag: value` lines the driver decodes from the registers). Add a case by adding a folder;
regressions are named after their issue."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from config.loader import ConfigError, parse_plant
from edge.drivers.modbus.config import ModbusDevice
from edge.drivers.modbus.driver import compile_read, decode_block
from edge.drivers.modbus.planner import plan_reads
from edge.model import Quality, Reading

CASES = Path(__file__).parent / "modbus_cases"
HIERARCHY = {
    "enterprise": "e",
    "site": "s",
    "areas": [{"name": "a", "lines": [{"name": "b", "cells": [{"name": "c"}]}]}],
}


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


def plant(device: dict[str, Any]) -> dict[str, Any]:
    return {"plant": HIERARCHY, "devices": [device]}


@pytest.mark.parametrize("case", sorted(CASES.iterdir()), ids=lambda p: p.name)
def test_case(case: Path) -> None:
    device, registers = load(case)
    error = case / "error.txt"
    if error.exists():
        with pytest.raises(ConfigError) as info:
            parse_plant(plant(device), "plant.yaml", environ={})
        assert str(info.value).splitlines() == error.read_text().strip().splitlines()
        return
    cfg = parse_plant(plant(device), "plant.yaml", environ={}).devices[0]
    assert isinstance(cfg, ModbusDevice)
    out: list[Reading] = []
    for req in plan_reads(cfg.tags, cfg.limits, cfg.addressing):
        block = registers[req.address : req.address + req.count]
        decode_block(compile_read(req), block, 0, out)
    assert all(r.quality is Quality.GOOD for r in out)
    got = "\n".join(f"{r.tag}: {r.value}" for r in out)
    assert got == (case / "expected.txt").read_text().strip()
