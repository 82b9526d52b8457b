"""`shopfloor edge browse`: walk a server's address space, print tags as config YAML."""

import json
import re
from collections import deque
from dataclasses import dataclass

from asyncua import Client, ua

SERVER_OBJECT = ua.NodeId.from_string(f"i={ua.ObjectIds.Server}")
HAS_PROPERTY = ua.NodeId.from_string(f"i={ua.ObjectIds.HasProperty}")
_WRITE_BIT = ua.AccessLevel.CurrentWrite.mask


@dataclass(frozen=True, slots=True)
class FoundVariable:
    path: tuple[str, ...]  # browse names from below the root down to the variable
    node_id: str
    writable: bool
    data_type: str


def segment(text: str) -> str:
    """A tag-name segment from a browse name: snake_case, `[a-z0-9_-]`, never leading `_`.

    A word starts at a capital after a lower-case letter or digit (`DoorOpen`), and at the
    last capital of a run followed by lower case (`NotANumber`, `HTTPServer`)."""
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"[^A-Za-z0-9-]+", "_", text).strip("_-").lower()
    return text or "var"


def tag_names(paths: list[tuple[str, ...]]) -> list[str]:
    """Short unique names: the leaf, prefixed with parents only where leaves collide."""
    depth = [1 if path and segment(path[-1])[:1].isalpha() else 2 for path in paths]
    while True:
        names = [
            "_".join(segment(p) for p in path[-d:]) for path, d in zip(paths, depth, strict=True)
        ]
        seen: dict[str, list[int]] = {}
        for i, n in enumerate(names):
            seen.setdefault(n, []).append(i)
        clashes = [ix for ix in seen.values() if len(ix) > 1]
        grown = False
        for ix in clashes:
            for i in ix:
                if depth[i] < len(paths[i]):
                    depth[i] += 1
                    grown = True
        if not grown:
            break
    out: list[str] = []
    used: set[str] = set()
    for n in names:
        name, k = n[:60], 2
        while name in used:
            name, k = f"{n[:56]}_{k}", k + 1
        used.add(name)
        out.append(name)
    return out


def to_yaml(found: list[FoundVariable], header: str) -> str:
    """The `tags:` list, one flow mapping per line, ready to paste under a device."""
    lines = [f"# {header}", "tags:"]
    for name, var in zip(tag_names([v.path for v in found]), found, strict=True):
        shown = name if name[:1].isalpha() else json.dumps(name)
        entry = f"name: {shown}, node_id: {json.dumps(var.node_id)}"
        if var.writable:
            entry += ", writable: true"
        lines.append(f"  - {{{entry}}}  # {var.data_type}")
    return "\n".join(lines) + "\n"


async def browse_variables(
    client: Client, root: str, max_nodes: int, include_server: bool = False
) -> list[FoundVariable]:
    """Breadth-first over hierarchical references; variables are leaves (properties skipped)."""
    queue: deque[tuple[ua.NodeId, tuple[str, ...]]] = deque([(ua.NodeId.from_string(root), ())])
    seen: set[ua.NodeId] = set()
    variables: list[tuple[ua.NodeId, tuple[str, ...]]] = []
    while queue and len(seen) < max_nodes:
        nid, path = queue.popleft()
        if nid in seen:
            continue
        seen.add(nid)
        refs = await client.get_node(nid).get_children_descriptions(
            refs=ua.ObjectIds.HierarchicalReferences
        )
        for ref in refs:
            child = ref.NodeId
            child_id = ua.NodeId(child.Identifier, child.NamespaceIndex, child.NodeIdType)
            if child_id == SERVER_OBJECT and not include_server:
                continue
            child_path = (*path, ref.BrowseName.Name or str(child_id))
            if ref.NodeClass == ua.NodeClass.Variable:
                if ref.ReferenceTypeId != HAS_PROPERTY:
                    variables.append((child_id, child_path))
            elif ref.NodeClass in (ua.NodeClass.Object, ua.NodeClass.View):
                queue.append((child_id, child_path))
    return await _describe(client, variables[:max_nodes])


async def _describe(
    client: Client, variables: list[tuple[ua.NodeId, tuple[str, ...]]]
) -> list[FoundVariable]:
    found: list[FoundVariable] = []
    for start in range(0, len(variables), 500):
        part = variables[start : start + 500]
        params = ua.ReadParameters()
        for nid, _ in part:
            for attr in (ua.AttributeIds.UserAccessLevel, ua.AttributeIds.DataType):
                rv = ua.ReadValueId()
                rv.NodeId = nid
                rv.AttributeId = attr
                params.NodesToRead.append(rv)
        values = await client.uaclient.read(params)
        for i, (nid, path) in enumerate(part):
            access, dtype = values[2 * i], values[2 * i + 1]
            level = access.Value.Value if access.Value is not None else 0
            type_id = dtype.Value.Value if dtype.Value is not None else None
            type_name = (
                ua.ObjectIdNames.get(int(type_id.Identifier), type_id.to_string())  # type: ignore[call-overload]
                if isinstance(type_id, ua.NodeId) and type_id.NamespaceIndex == 0
                else (type_id.to_string() if isinstance(type_id, ua.NodeId) else "?")
            )
            found.append(
                FoundVariable(path, nid.to_string(), bool((level or 0) & _WRITE_BIT), type_name)
            )
    return found
