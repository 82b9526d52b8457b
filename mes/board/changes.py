"""What changed between two board snapshots (pure): per part, the items added or changed
(`upsert`) and the keys of those gone (`remove`); a single value (`plan`, the current plan)
whole when it changed. The live stream sends only these."""

from typing import Any

#: each part of the board and the field that names its items
KEYS = {
    "orders": "work_order",
    "tiles": "station",
    "holds": "hold_id",
    "nonconformances": "number",
}
#: parts that are one value, sent whole when they change
VALUES = ("plan", "orders_left_off")


def _by_key(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {str(item[key]): item for item in items}


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any] | None:
    """The changes from `before` to `after` (JSON-ready boards), None when nothing changed."""
    out: dict[str, Any] = {}
    for part, key in KEYS.items():
        old, new = _by_key(before.get(part, []), key), _by_key(after.get(part, []), key)
        upsert = [item for k, item in new.items() if old.get(k) != item]
        remove = [k for k in old if k not in new]
        if upsert or remove:
            out[part] = {"upsert": upsert, "remove": remove}
    for part in VALUES:
        if before.get(part) != after.get(part):
            out[part] = after.get(part)
    if not out:
        return None
    return {"at": after.get("at"), **out}
