"""Node ids by namespace URI (`nsu=<uri>;s=...`), resolved against the server's namespace
array at connect, so a plant file does not depend on the order a server registers its
namespaces in. Pure: no I/O."""

from collections.abc import Sequence
from dataclasses import replace

from asyncua import ua

from edge.drivers.opcua.subscription import ItemSpec

#: the reason an item whose namespace URI the server does not know reads bad with
UNKNOWN_NAMESPACE = "BadNodeIdUnknown"


def needs_namespace_array(items: Sequence[ItemSpec]) -> bool:
    return any(_uri(it.node_id) for it in items)


def _uri(node_id: ua.NodeId) -> str | None:
    return getattr(node_id, "NamespaceUri", None) or None


def resolve(
    items: Sequence[ItemSpec], namespace_array: Sequence[str]
) -> tuple[list[ItemSpec], dict[str, str]]:
    """The items with every `nsu=` node id turned into a plain `ns=<index>` one, and
    {tag: message} for the items whose namespace URI the server does not list."""
    index = {uri: i for i, uri in enumerate(namespace_array)}
    resolved: list[ItemSpec] = []
    unknown: dict[str, str] = {}
    for it in items:
        uri = _uri(it.node_id)
        if uri is None:
            resolved.append(it)
            continue
        ns = index.get(uri)
        if ns is None:
            unknown[it.tag.name] = (
                f"tag {it.tag.name}: namespace URI {uri!r} of node_id {it.tag.node_id!r} is not "
                f"in the server's namespace array ({len(namespace_array)} namespaces)"
            )
            continue
        n = it.node_id
        resolved.append(replace(it, node_id=ua.NodeId(n.Identifier, ua.Int16(ns), n.NodeIdType)))
    return resolved, unknown


def by_uri(node_id: str, namespace_array: Sequence[str]) -> str:
    """`ns=<index>;...` written as `nsu=<uri>;...` (namespace 0 and unknown indexes as given)."""
    if not node_id.startswith("ns="):
        return node_id
    head, rest = node_id.split(";", 1)
    index = int(head[3:])
    if index == 0 or index >= len(namespace_array):
        return node_id
    return f"nsu={namespace_array[index]};{rest}"
