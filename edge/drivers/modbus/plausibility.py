"""Which byte order a register block was written in, judged from the data. Pure: no I/O.

Each order of a width is scored by how plausible its decodings look over every value in the
block (the block is cut into values from its first register on) and over several reads:

- magnitude: a float is finite, not denormal and within a range a machine reports (1e-3 to
  1e4 scores 1, falling off by decades outside); an integer scores 1 up to 1000 and falls off
  by decades to 0 at 1e9. A wrong order scatters the exponent or the high bytes, so its
  decodings are absurdly large, tiny, NaN or denormal.
- stability: a value that moves by at most 1 % between reads scores 1, falling to 0 at a
  100 % change. Noise in the low bytes of a float jumps wildly when read in a wrong order.

An order scores the best of its types (float32, int32, uint32 for 32 bits). Zero values say
nothing (0 is 0 in every order). The data cannot tell when every register is zero, when two
orders decode every value identically (e.g. 0x4141 0x4141), or when the best two orders score
within `TIE` of each other.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from edge.drivers.modbus.codec import NUMERIC_TYPES, ORDERS_BY_WIDTH, Layout, decode_raw

#: scores closer than this cannot be told apart
TIE = 0.1
_FLOAT_MIN = 2.0**-126  # smallest normal float32; float64 ones below it are just as unlikely


@dataclass(frozen=True, slots=True)
class OrderScore:
    order: str
    type: str
    score: float
    #: decodings of the last read, one per value position
    values: tuple[float | int, ...]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The ranking of one width's orders, best first, and what to tell the reader."""

    width: int
    ranking: tuple[OrderScore, ...]
    recommended: str | None
    confidence: float
    #: how sure, in words: high, medium, low, or none when the data cannot tell
    level: str
    reason: str


def _decade_falloff(distance_decades: float) -> float:
    return max(0.0, 1.0 - distance_decades / 6.0)


def magnitude_score(value: float | int, is_float: bool) -> float | None:
    """Plausibility of one decoded value in [0, 1]; None for zero (no evidence)."""
    if value == 0:
        return None
    if is_float:
        x = float(value)
        if not math.isfinite(x) or abs(x) < _FLOAT_MIN:
            return 0.0
        decade = math.log10(abs(x))
        return _decade_falloff(max(0.0, -3.0 - decade, decade - 4.0))
    return _decade_falloff(max(0.0, math.log10(abs(int(value))) - 3.0))


def stability_score(before: float | int, after: float | int) -> float | None:
    """How little one value moved between two reads, in [0, 1]; None if not comparable."""
    a, b = float(before), float(after)
    if not (math.isfinite(a) and math.isfinite(b)):
        return 0.0
    if a == b:
        return None  # unchanged: as true of a wrong order as of the right one
    change = abs(b - a) / max(abs(a), abs(b))
    return max(0.0, min(1.0, 1.0 - (change - 0.01) / 0.99))


def _decodings(type_: str, order: str, reads: Sequence[Sequence[int]]) -> list[list[float | int]]:
    n = NUMERIC_TYPES[type_][0]
    layout = Layout(type_, order)
    out = []
    for regs in reads:
        row = []
        for start in range(0, len(regs) - n + 1, n):
            v = decode_raw(layout, regs[start : start + n])
            assert isinstance(v, int | float)
            row.append(v)
        out.append(row)
    return out


def _mean(scores: Sequence[float | None]) -> float | None:
    known = [s for s in scores if s is not None]
    return sum(known) / len(known) if known else None


def score_type(type_: str, order: str, reads: Sequence[Sequence[int]]) -> OrderScore:
    rows = _decodings(type_, order, reads)
    is_float = type_.startswith("float")
    magnitude = _mean([magnitude_score(v, is_float) for row in rows for v in row])
    stability = _mean(
        [stability_score(a, b) for r0, r1 in pairwise(rows) for a, b in zip(r0, r1, strict=True)]
    )
    if magnitude is None:
        score = 0.0
    elif stability is None:
        score = magnitude
    else:
        score = 0.6 * magnitude + 0.4 * stability
    return OrderScore(order, type_, round(score, 3), tuple(rows[-1]) if rows else ())


def rank_width(width: int, reads: Sequence[Sequence[int]]) -> Verdict | None:
    """The verdict for values `width` bytes wide, or None if the block is too short."""
    count = width // 2
    if not reads or min(len(r) for r in reads) < count:
        return None
    types = [t for t, (n, _) in NUMERIC_TYPES.items() if n == count]
    best: list[OrderScore] = []
    for order in ORDERS_BY_WIDTH[width]:
        candidates = [score_type(t, order, reads) for t in types]
        best.append(max(candidates, key=lambda s: s.score))
    ranking = tuple(sorted(best, key=lambda s: -s.score))
    return _verdict(width, ranking, reads)


def _same_decoding(a: str, b: str, width: int, reads: Sequence[Sequence[int]]) -> bool:
    type_ = next(t for t, (n, _) in NUMERIC_TYPES.items() if n == width // 2)
    return _decodings(type_, a, reads) == _decodings(type_, b, reads)


def _cannot_tell(width: int, ranking: tuple[OrderScore, ...], reason: str) -> Verdict:
    return Verdict(width, ranking, None, 0.0, "none", reason)


def _verdict(
    width: int, ranking: tuple[OrderScore, ...], reads: Sequence[Sequence[int]]
) -> Verdict:
    top, second = ranking[0], ranking[1]
    if not any(r for regs in reads for r in regs):
        return _cannot_tell(width, ranking, "every register is 0: any order fits")
    if _same_decoding(top.order, second.order, width, reads):
        twins = [s.order for s in ranking if _same_decoding(top.order, s.order, width, reads)]
        reason = f"{' and '.join(twins)} decode these registers identically (symmetric bytes)"
        return _cannot_tell(width, ranking, reason)
    margin = top.score - second.score
    if margin < TIE:
        reason = (
            f"{top.order} and {second.order} look equally plausible "
            f"({top.score:.2f} vs {second.score:.2f})"
        )
        return _cannot_tell(width, ranking, reason)
    confidence = round(top.score * min(1.0, margin / 0.5), 2)
    level = "high" if confidence >= 0.7 else "medium" if confidence >= 0.4 else "low"
    return Verdict(
        width,
        ranking,
        top.order,
        confidence,
        level,
        f"{top.order} as {top.type} scores {top.score:.2f}, next {second.order} {second.score:.2f}",
    )


def rank_orders(reads: Sequence[Sequence[int]]) -> list[Verdict]:
    """A verdict for each width the block is long enough for (16, 32, 64 bits)."""
    return [v for w in (2, 4, 8) if (v := rank_width(w, reads)) is not None]
