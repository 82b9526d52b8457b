"""Validation errors as a plant engineer reads them: `(field path, message)` pairs.

Pydantic's own error locations carry union tags (`modbus_tcp`, `ModbusTcpConnection`) and
validator names, and its messages say "Value error, ..." and "Extra inputs are not permitted".
Here the location becomes the path in the file (`devices[0].tags[5].address`), a message about
one named item says which (`tag 'temperature': ...`), and an unknown key says so, with the
closest known key when there is one.
"""

import difflib
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

Problem = tuple[str, str]
Loc = tuple[int | str, ...]

_PREFIXES = ("Value error, ", "Assertion failed, ")


def _members(tp: Any) -> Iterator[Any]:
    """`tp` with Annotated and unions unwrapped into their members."""
    origin = get_origin(tp)
    if origin is typing.Annotated:
        yield from _members(get_args(tp)[0])
    elif origin in (typing.Union, types.UnionType):
        for arg in get_args(tp):
            yield from _members(arg)
    else:
        yield tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _tags_of(model: type[BaseModel]) -> set[str]:
    """The names a union member may appear under in an error location."""
    names = {model.__name__}
    for field in model.model_fields.values():
        if get_origin(field.annotation) is typing.Literal:
            names.update(str(a) for a in get_args(field.annotation))
    return names


def _walk(root: type[BaseModel], loc: Loc) -> Iterator[tuple[int | str, str, list[Any]]]:
    """Each part of `loc` with what it is (`file`: part of the path in the file, `member`: the
    union member pydantic tried, `skip`: a validator) and the types that may be found at that
    point (for a key: the types of its value)."""
    current: list[Any] = [root]
    for part in loc:
        members = [m for t in current for m in _members(t)]
        if isinstance(part, int):
            items = [get_args(m)[0] for m in members if get_origin(m) in (list, tuple, Sequence)]
            current = items
            yield part, "file", current
            continue
        models = [m for m in members if _is_model(m)]
        fields = [m.model_fields[part].annotation for m in models if part in m.model_fields]
        if fields:
            current = fields
            yield part, "file", current
            continue
        values = [get_args(m)[1] for m in members if get_origin(m) in (dict, Mapping)]
        if values:
            current = values
            yield part, "file", current
            continue
        tagged = [m for m in members if (_is_model(m) and part in _tags_of(m))]
        if tagged:  # a union member's tag: not in the file
            current = tagged
            yield part, "member", current
        elif any(getattr(m, "__name__", "") == part for m in members):
            yield part, "member", current  # a plain union member (`int`, `str`)
        elif part.startswith("function-"):
            yield part, "skip", current  # a validator
        else:
            current = []
            yield part, "file", current


def _path(parts: Sequence[int | str]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def located(root: type[BaseModel], loc: Loc) -> tuple[str, list[Any]]:
    """The file path of `loc` and the types its value may have."""
    kept: list[int | str] = []
    types_here: list[Any] = [root]
    for part, kind, types_now in _walk(root, loc):
        if kind == "file":
            kept.append(part)
        types_here = types_now
    return _path(kept), types_here


def _keys(types_here: list[Any]) -> list[str]:
    return sorted(
        {
            k
            for m in (m for t in types_here for m in _members(t))
            if _is_model(m)
            for k in m.model_fields
        }
    )


def _closest(key: str, keys: list[str]) -> list[str]:
    """The known key a mistyped or shortened one most likely meant (none when nothing is close)."""
    close = difflib.get_close_matches(key, keys, n=1, cutoff=0.7)
    if close or len(key) < 3:
        return close
    return [k for k in keys if k.startswith(key) or key.startswith(k)][:1]


def _label(data: Any, loc: Loc) -> str | None:
    """`tag 'temperature'` for a location inside a named list item of the file (innermost)."""
    label = None
    node, key = data, ""
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
            node = node[part]
            name = node.get("name") if isinstance(node, dict) else None
            if isinstance(name, str) and key:
                kind = key[:-1] if key.endswith("s") else key
                label = f"{kind} {name!r}"
        elif isinstance(part, str) and isinstance(node, dict) and part in node:
            node, key = node[part], part
    return label


def message(error: ErrorDetails) -> str:
    """Pydantic's message without its "Value error, " prefix."""
    msg = error["msg"]
    for prefix in _PREFIXES:
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg


def _members_tried(root: type[BaseModel], loc: Loc) -> list[tuple[Loc, str]]:
    """Where in `loc` a union was tried, and which member."""
    return [
        (loc[:i], str(part))
        for i, (part, kind, _) in enumerate(_walk(root, loc))
        if kind == "member"
    ]


def _best_members(root: type[BaseModel], errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """When no member of a union fits, pydantic reports every member's errors (a TCP connection
    gets told its serial `port` is missing): keep those of the member that came closest."""
    tried = [_members_tried(root, tuple(e["loc"])) for e in errors]
    counts: dict[Loc, dict[str, int]] = {}
    for where, member in (t for ts in tried for t in ts):
        per_member = counts.setdefault(where, {})
        per_member[member] = per_member.get(member, 0) + 1
    best = {where: min(per_member.values()) for where, per_member in counts.items()}
    return [
        e
        for e, ts in zip(errors, tried, strict=True)
        if all(counts[where][member] == best[where] for where, member in ts)
    ]


def problems_of(root: type[BaseModel], exc: ValidationError, data: Any = None) -> list[Problem]:
    """Every error of `exc` (raised validating `data` against `root`) as `(path, message)`."""
    errors = _best_members(root, exc.errors(include_url=False))
    missing: dict[str, list[str]] = {}  # parent path -> required keys not given there
    for e in errors:
        if e["type"] == "missing" and e["loc"] and isinstance(e["loc"][-1], str):
            missing.setdefault(located(root, tuple(e["loc"][:-1]))[0], []).append(e["loc"][-1])
    meant: set[tuple[str, str]] = set()  # (parent path, missing key) a mistyped key explains
    found: list[tuple[ErrorDetails, Problem]] = []
    for e in errors:
        loc = tuple(e["loc"])
        label = _label(data, loc)
        if e["type"] == "extra_forbidden" and loc and isinstance(loc[-1], str):
            path, types_here = located(root, loc[:-1])
            key = loc[-1]
            near = difflib.get_close_matches(key, missing.get(path, []), n=1, cutoff=0.5)
            close = near or _closest(key, _keys(types_here))
            msg = f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
            meant.update((path, k) for k in near)
        else:
            path, msg = located(root, loc)[0], message(e)
        if label and not msg.startswith(label):
            msg = f"{label}: {msg}"
        found.append((e, (path, msg)))
    out: list[Problem] = []
    for e, problem in found:
        if e["type"] == "missing" and (problem[0].rpartition(".")[0], e["loc"][-1]) in meant:
            continue  # the mistyped key next to it says what is wrong
        if problem not in out:
            out.append(problem)
    return out
