"""The byte-order probe's output, pure: a register block decoded in every type and order, side
by side, then each width's orders ranked by plausibility over several reads (see
plausibility.py) with a recommendation, or a plain statement that the data cannot tell."""

from collections.abc import Sequence

from edge.drivers.modbus.codec import NUMERIC_TYPES, ORDERS_BY_WIDTH, Layout, decode_raw
from edge.drivers.modbus.plausibility import Verdict, rank_orders
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


def verdict_lines(verdict: Verdict) -> list[str]:
    bits = verdict.width * 8
    if verdict.recommended is None:
        head = f"{bits}-bit: the data cannot tell: {verdict.reason}"
    else:
        best = verdict.ranking[0]
        head = (
            f"{bits}-bit: use order {verdict.recommended} (as {best.type}), confidence "
            f"{verdict.level} ({verdict.confidence:.2f}): {verdict.reason}"
        )
    lines = [head]
    for s in verdict.ranking:
        shown = ", ".join(_cell(v) for v in s.values[:4])
        lines.append(f"    {s.order:<9} {s.score:4.2f}  {s.type:<8} {shown}")
    return lines


def ranking_lines(address: int, reads: Sequence[Sequence[int]]) -> list[str]:
    """The ranked orders of every width the block fits, judged over all `reads`."""
    lines = [
        "",
        f"byte order, judged over {len(reads)} read(s), values cut from register {address} on"
        " (score 0-1: plausible magnitude, stable between reads):",
    ]
    for verdict in rank_orders(reads):
        lines += verdict_lines(verdict)
    if len(reads) < 2:
        lines.append("(one read only: stability not judged; use --reads 5)")
    return lines
