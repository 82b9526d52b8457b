"""Time spans [start, end) and the set arithmetic the lead-time split needs (pure). A point is
a datetime, or a float (hours on any fixed scale: the delivery report reads hours since the
Unix epoch straight from SQL, which spares parsing thousands of timestamps)."""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TypeVar

P = TypeVar("P", datetime, float)
Span = tuple[P, P]


def union(spans: Iterable[Span[P]]) -> list[Span[P]]:
    """The spans merged: sorted, disjoint, empty ones dropped."""
    out: list[Span[P]] = []
    for lo, hi in sorted(s for s in spans if s[1] > s[0]):
        if out and lo <= out[-1][1]:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def clip(spans: Iterable[Span[P]], lo: P, hi: P) -> list[Span[P]]:
    """The parts of `spans` inside [lo, hi), merged."""
    return union((max(a, lo), min(b, hi)) for a, b in spans)


def intersect(a: Iterable[Span[P]], b: Iterable[Span[P]]) -> list[Span[P]]:
    right = union(b)
    if not right:
        return []
    left = union(a)
    out: list[Span[P]] = []
    i = j = 0
    while i < len(left) and j < len(right):
        lo, hi = max(left[i][0], right[j][0]), min(left[i][1], right[j][1])
        if hi > lo:
            out.append((lo, hi))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: Iterable[Span[P]], b: Iterable[Span[P]]) -> list[Span[P]]:
    """The parts of `a` outside every span of `b`."""
    cuts = union(b)
    if not cuts:
        return union(a)
    out: list[Span[P]] = []
    for lo, hi in union(a):
        cursor = lo
        for c0, c1 in cuts:
            if c1 <= cursor or c0 >= hi:
                continue
            if c0 > cursor:
                out.append((cursor, c0))
            cursor = max(cursor, c1)
        if cursor < hi:
            out.append((cursor, hi))
    return out


def hours(spans: Iterable[Span[P]]) -> float:
    """The length of the spans' union in hours (float points are hours already)."""
    return merged_hours(union(spans))


def merged_hours(merged: Iterable[Span[P]]) -> float:
    """The length in hours of spans already merged (disjoint, as `union` gives them)."""
    total = 0.0
    for a, b in merged:
        d = b - a
        total += d.total_seconds() / 3600 if isinstance(d, timedelta) else d
    return total
