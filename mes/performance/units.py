"""The work units of the plant file: each workstation with a state mapping, its device, its
place in the hierarchy (line, work centre) and its thresholds, as the pure modules take them."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from config.performance import WorkUnit
from config.plant import PlantConfig
from mes.performance.states import MachineState, Rule, StateMapping


@dataclass(frozen=True, slots=True)
class Unit:
    workstation: str
    device: str
    path: str  # area/line/cell of the workstation
    work_centre: str | None
    mapping: StateMapping
    micro_stop_threshold: timedelta
    silence_timeout: timedelta

    @property
    def line(self) -> str:
        """area/line of the workstation."""
        return self.path.rsplit("/", 1)[0]


def _code_keys(codes: Mapping[str, str]) -> dict[Any, MachineState]:
    """Codes are written as text in YAML; a numeric state tag sends numbers: accept both."""
    out: dict[Any, MachineState] = {}
    for key, state in codes.items():
        out[key] = MachineState(state)
        with contextlib.suppress(ValueError):
            out[int(key)] = MachineState(state)
    return out


def state_mapping(unit: WorkUnit) -> StateMapping:
    return StateMapping(
        rules=tuple(Rule(r.tag, r.op, r.value, MachineState(r.state)) for r in unit.rules),
        code_tag=unit.code_tag,
        codes=_code_keys(unit.codes),
        default=MachineState(unit.default),
        uncertain_is_unknown=unit.uncertain_is_unknown,
    )


def work_units(cfg: PlantConfig) -> dict[str, Unit]:
    """Configured work units by workstation id."""
    stations = {w.id: w for w in cfg.workstations}
    out = {}
    for unit in cfg.performance.work_units:
        ws = stations[unit.workstation]
        out[unit.workstation] = Unit(
            workstation=unit.workstation,
            device=unit.device,
            path=ws.path,
            work_centre=ws.work_centre,
            mapping=state_mapping(unit),
            micro_stop_threshold=timedelta(seconds=unit.micro_stop_s),
            silence_timeout=timedelta(seconds=unit.silence_timeout_s),
        )
    return out
