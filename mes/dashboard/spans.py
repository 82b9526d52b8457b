"""Time spans [start, end) and the set arithmetic the lead-time split needs (pure)."""

from collections.abc import Iterable
from datetime import datetime

Span = tuple[datetime, datetime]


def union(spans: Iterable[Span]) -> list[Span]:
    """The spans merged: sorted, disjoint, empty ones dropped."""
    out: list[Span] = []
    for lo, hi in sorted(s for s in spans if s[1] > s[0]):
        if out and lo <= out[-1][1]:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def clip(spans: Iterable[Span], lo: datetime, hi: datetime) -> list[Span]:
    """The parts of `spans` inside [lo, hi), merged."""
    return union((max(a, lo), min(b, hi)) for a, b in spans)


def intersect(a: Iterable[Span], b: Iterable[Span]) -> list[Span]:
    left, right = union(a), union(b)
    out: list[Span] = []
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


def subtract(a: Iterable[Span], b: Iterable[Span]) -> list[Span]:
    """The parts of `a` outside every span of `b`."""
    out: list[Span] = []
    cuts = union(b)
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


def hours(spans: Iterable[Span]) -> float:
    return sum((b - a).total_seconds() for a, b in union(spans)) / 3600
