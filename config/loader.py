"""Load the plant file: YAML, environment overrides, schema and cross-reference checks."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from config.alarms import alarm_reference_problems
from config.performance import performance_problems
from config.plant import PlantConfig, plant_model
from config.problems import Problem, located, problems_of
from edge.drivers.registry import DriverRegistry, built_in

M = TypeVar("M", bound=BaseModel)
ENV_PREFIX = "SHOPFLOOR_"
#: Sections whose settings the environment may override (connection settings and secrets).
OVERRIDABLE = ("broker", "historian", "database", "mes", "edge")


class ConfigError(Exception):
    """A plant file that cannot be used; `problems` are `(field path, message)` pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = [
            f"{source}: {path}: {msg}" if path else f"{source}: {msg}" for path, msg in problems
        ]
        super().__init__("\n".join(lines))

    def report(self, prefix: str = "") -> str:
        """Every problem on its own line (what every command prints for a bad file)."""
        return "\n".join(f"{prefix}{line}" for line in str(self).splitlines())


def field_path(loc: tuple[int | str, ...], model: type[BaseModel] = PlantConfig) -> str:
    """`('devices', 2, 'modbus_tcp', 'tags', 5, 'address')` -> `devices[2].tags[5].address`."""
    return located(model, loc)[0]


def env_overrides(environ: dict[str, str] | os._Environ[str]) -> dict[str, Any]:
    """`SHOPFLOOR_BROKER__PASSWORD=x` -> `{"broker": {"password": "x"}}`."""
    out: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        parts = key[len(ENV_PREFIX) :].lower().split("__")
        if len(parts) < 2 or parts[0] not in OVERRIDABLE:
            continue
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return out


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(merged.get(k), dict):
            merged[k] = _merge(merged[k], v)
        else:
            merged[k] = v
    return merged


def _duplicate_tag_names(data: Any) -> Iterator[Problem]:
    """Tags named twice in one device, whatever its driver (read from the file itself, so they
    are reported together with the schema's problems)."""
    devices = data.get("devices") if isinstance(data, dict) else None
    for i, dev in enumerate(devices if isinstance(devices, list) else []):
        tags = dev.get("tags") if isinstance(dev, dict) else None
        first: dict[str, int] = {}
        for j, tag in enumerate(tags if isinstance(tags, list) else []):
            name = tag.get("name") if isinstance(tag, dict) else None
            if not isinstance(name, str):
                continue
            if name in first:
                yield (
                    f"devices[{i}].tags[{j}].name",
                    f"duplicate tag name {name!r} (also tags[{first[name]}])",
                )
            else:
                first[name] = j


def _cross_reference_problems(cfg: PlantConfig, drivers: DriverRegistry) -> Iterator[Problem]:
    cells = cfg.plant.cell_paths()
    seen: set[str] = set()
    for i, dev in enumerate(cfg.devices):
        if dev.path not in cells:
            yield f"devices[{i}].path", f"{dev.path!r} is not an area/line/cell of the plant"
        if dev.name in seen:
            yield f"devices[{i}].name", f"duplicate device name {dev.name!r}"
        seen.add(dev.name)
        if not drivers.spec(dev).capabilities.writes:
            for j, tag in enumerate(dev.tags):
                if tag.writable:
                    yield (
                        f"devices[{i}].tags[{j}].writable",
                        f"tag {tag.name!r}: driver {dev.driver} cannot write to its devices",
                    )
    stations = {w.id for w in cfg.workstations}
    centres = {w.work_centre for w in cfg.workstations if w.work_centre}
    for i, ws in enumerate(cfg.workstations):
        if ws.path not in cells:
            yield f"workstations[{i}].path", f"{ws.path!r} is not an area/line/cell of the plant"
    named: set[str] = set()
    for i, wc in enumerate(cfg.work_centres):
        if wc.id not in centres:
            yield f"work_centres[{i}].id", f"no workstation belongs to {wc.id!r}"
        if wc.id in named:
            yield f"work_centres[{i}].id", f"work centre {wc.id!r} is named twice"
        named.add(wc.id)
    products = {p.code for p in cfg.products}
    for i, rt in enumerate(cfg.routings):
        if rt.product not in products:
            yield f"routings[{i}].product", f"unknown product {rt.product!r}"
        numbers: set[str] = set()
        for j, op in enumerate(rt.operations):
            where = f"routings[{i}].operations[{j}]"
            if op.number in numbers:
                yield f"{where}.number", f"duplicate operation number {op.number!r}"
            numbers.add(op.number)
            if (op.workstation is None) == (op.work_centre is None):
                yield where, "give exactly one of workstation or work_centre"
            if op.workstation and op.workstation not in stations:
                yield f"{where}.workstation", f"unknown workstation {op.workstation!r}"
            if op.work_centre and op.work_centre not in centres:
                yield f"{where}.work_centre", f"no workstation belongs to {op.work_centre!r}"
            for k, comp in enumerate(op.components):
                if comp.product not in products:
                    yield f"{where}.components[{k}].product", f"unknown product {comp.product!r}"
    yield from alarm_reference_problems(cfg.alarms, cfg.devices, cfg.workstations)
    yield from performance_problems(cfg.performance, cfg.devices, stations, centres)


def parse_plant(
    data: Any,
    source: str = "<plant>",
    environ: dict[str, str] | None = None,
    drivers: DriverRegistry | None = None,
) -> PlantConfig:
    """The plant file's content as configuration; ConfigError with every problem otherwise.
    `drivers`: the drivers whose devices the file may hold (default: this build's)."""
    drivers = drivers or built_in()
    if isinstance(data, dict):
        data = _merge(data, env_overrides(os.environ if environ is None else environ))
    duplicates = list(_duplicate_tag_names(data))
    try:
        cfg = validate_file(plant_model(drivers), data, source)
    except ConfigError as exc:
        raise ConfigError(source, exc.problems + duplicates) from None
    problems = duplicates + list(_cross_reference_problems(cfg, drivers))
    if problems:
        raise ConfigError(source, problems)
    return cfg


def read_yaml(path: Path) -> Any:
    """The YAML document in `path`; ConfigError naming the file (and line) when it cannot be."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [("", f"cannot read: {exc.strerror}")]) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(str(path), [("", f"{where}not valid YAML")]) from None


def validate_file(model: type[M], data: Any, source: str) -> M:
    """Validate `data` against `model`; ConfigError with every problem's field path otherwise."""
    if not isinstance(data, dict):
        raise ConfigError(source, [("", "the file must hold a mapping at the top level")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, problems_of(model, exc, data)) from None


def load_plant(
    path: str | Path, environ: dict[str, str] | None = None, drivers: DriverRegistry | None = None
) -> PlantConfig:
    path = Path(path)
    return parse_plant(read_yaml(path), str(path), environ, drivers)
