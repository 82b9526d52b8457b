"""Render the configuration reference (docs/configuration.md) from the schema itself."""

import types
import typing
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from config.plant import plant_model
from edge.drivers.base import AnySpec
from edge.drivers.registry import DriverRegistry, built_in

HEADER = """\
# Configuration reference

One YAML file describes a plant: `config/plant.yaml` is a complete, commented example. Check a
file with `shopfloor config check FILE`; a bad file names the file, the field path (for example
`devices[2].tags[5].address`), the tag or device concerned and what is wrong, one line per
problem, and every service refuses it the same way. Unknown keys are errors, with the closest
known key when there is one (`unknown key 'adress' (did you mean 'address'?)`).

Environment variables override the connection settings and secrets of the `broker`, `historian`,
`database`, `edge` and `mes` sections: `SHOPFLOOR_<SECTION>__<KEY>`, nested with `__`, for example
`SHOPFLOOR_BROKER__PASSWORD`, `SHOPFLOOR_DATABASE__URL`, `SHOPFLOOR_EDGE__QUEUE__PATH`. Secrets
(`password`, `token`, `api_token`, `bootstrap_admin_password`) are never logged.

This reference is generated from the schema (`python -m config.reference > docs/configuration.md`);
a test keeps it current.
"""


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is typing.Annotated:
        return _type_name(get_args(tp)[0])
    if origin is typing.Literal:
        return " \\| ".join(repr(a).replace("'", '"') for a in get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in get_args(tp))
    if origin is list:
        return f"list of {_type_name(get_args(tp)[0])}"
    if origin is dict:
        key, value = get_args(tp)
        return f"map of {_type_name(key)} to {_type_name(value)}"
    if isinstance(tp, type):
        return "null" if tp is type(None) else tp.__name__
    return str(tp)


def _default(field: FieldInfo) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.default if field.default_factory is None else field.default_factory()  # type: ignore[call-arg]
    if isinstance(value, BaseModel):
        return "(section)"
    if value in ([], {}):
        return "empty"
    return f"`{value!r}`".replace("'", '"')


def _models(tp: Any) -> list[type[BaseModel]]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return [m for a in get_args(tp) for m in _models(a)]


def _render(
    model: type[BaseModel],
    path: str,
    seen: set[tuple[type, str]],
    out: list[str],
    drivers: dict[type, AnySpec],
) -> None:
    if (model, path) in seen:
        return
    seen.add((model, path))
    title = path or "top level"
    out += [f"## `{title}` ({model.__name__})", ""]
    spec = drivers.get(model)
    if spec is not None:
        names = " or ".join(f"`driver: {n}`" for n in spec.names)
        out += [f"{names}: {spec.describe()}.", ""]
    if model.__doc__ and not model.__doc__.startswith(("!!!", "Base")):
        out += [model.__doc__.strip().splitlines()[0], ""]
    out += ["| key | type | default | meaning |", "|---|---|---|---|"]
    nested: list[tuple[type[BaseModel], str]] = []
    for name, field in model.model_fields.items():
        desc = (field.description or "").replace("|", "\\|")
        out.append(f"| `{name}` | {_type_name(field.annotation)} | {_default(field)} | {desc} |")
        origin = get_origin(field.annotation)
        suffix = "[]" if origin is list else ""
        for sub in _models(field.annotation):
            nested.append((sub, f"{path}.{name}{suffix}" if path else f"{name}{suffix}"))
    out.append("")
    for sub, sub_path in nested:
        _render(sub, sub_path, seen, out, drivers)


def render(drivers: DriverRegistry | None = None) -> str:
    """The reference of the plant file for a set of drivers (default: this build's)."""
    drivers = drivers or built_in()
    out = [HEADER]
    _render(plant_model(drivers), "", set(), out, {s.device: s for s in drivers.specs})
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
