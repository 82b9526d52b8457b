"""The byte-order probe's table, pure: a register block decoded in every type and order, side
by side, so a user can pick the order whose column shows a plausible value."""

from collections.abc import Sequence

from edge.drivers.modbus.codec import NUMERIC_TYPES, ORDERS_BY_WIDTH, Layout, decode_raw
from edge.model import Value


def _cell(value: Value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def probe_table(address: int, registers: Sequence[int]) -> list[str]:
    """Lines to print: the raw registers, then one block per width with a row per type.

    Each row decodes the value that starts at `address` (the first register of the block)."""
    lines = ["register  hex     dec"]
    for i, r in enumerate(registers):
        lines.append(f"{address + i:>8}  0x{r:04X}  {r}")
    text = bytes(b for r in registers for b in (r >> 8, r & 0xFF))
    printable = "".join(chr(b) if 32 <= b < 127 else "." for b in text)
    lines += ["", f"as text (ABCD...): {printable!r}"]
    for width in (2, 4, 8):
        count = width // 2
        if len(registers) < count:
            continue
        orders = ORDERS_BY_WIDTH[width]
        lines += [
            "",
            f"{width * 8}-bit at {address}:",
            " " * 8 + "".join(f"{o:>22}" for o in orders),
        ]
        for type_, (n, _) in NUMERIC_TYPES.items():
            if n != count:
                continue
            cells = [_cell(decode_raw(Layout(type_, o), registers[:count])) for o in orders]
            lines.append(f"{type_:<8}" + "".join(f"{c:>22}" for c in cells))
    return lines
