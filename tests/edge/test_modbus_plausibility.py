"""Ranking byte orders by plausibility (pure): the right order wins over several values and
reads, and the data that cannot tell is said to be so."""

import random
import struct

import pytest

from edge.drivers.modbus.codec import bytes_to_registers, from_big_endian
from edge.drivers.modbus.plausibility import (
    magnitude_score,
    rank_orders,
    rank_width,
    stability_score,
)


def wire(fmt: str, value: float | int, order: str) -> list[int]:
    return bytes_to_registers(from_big_endian(struct.pack(">" + fmt, value), order))


def reads_of(fmt: str, order: str, values: list[float], n: int = 5, noise: float = 0.0):
    rng = random.Random(7)
    return [
        [r for v in values for r in wire(fmt, v + rng.uniform(-noise, noise), order)]
        for _ in range(n)
    ]


@pytest.mark.parametrize("order", ["ABCD", "BADC", "CDAB", "DCBA"])
def test_floats_over_several_addresses_and_reads_name_their_order(order: str) -> None:
    verdict = rank_width(4, reads_of("f", order, [65.0, 1200.0, 0.5], noise=0.2))
    assert verdict is not None
    assert verdict.recommended == order
    assert verdict.level == "high"
    assert verdict.ranking[0].type == "float32"
    assert verdict.ranking[0].score > verdict.ranking[1].score + 0.3


@pytest.mark.parametrize("order", ["ABCDEFGH", "BADCFEHG", "GHEFCDAB", "HGFEDCBA"])
def test_doubles_name_their_order(order: str) -> None:
    verdict = rank_width(8, reads_of("d", order, [21.5, -3.25], noise=0.01))
    assert verdict is not None
    assert verdict.recommended == order
    assert verdict.level in ("high", "medium")


def test_a_counter_prefers_the_order_that_keeps_it_small() -> None:
    reads = [wire("I", 1234 + i, "CDAB") for i in range(5)]
    verdict = rank_width(4, reads)
    assert verdict is not None
    assert verdict.recommended == "CDAB"
    assert verdict.ranking[0].type in ("int32", "uint32")


def test_all_zero_registers_cannot_tell() -> None:
    for verdict in rank_orders([[0, 0, 0, 0]] * 3):
        assert verdict.recommended is None
        assert verdict.level == "none"
        assert "every register is 0" in verdict.reason


def test_constant_symmetric_registers_cannot_tell() -> None:
    verdict = rank_width(4, [[0x4141, 0x4141]] * 4)
    assert verdict is not None
    assert verdict.recommended is None
    assert "decode these registers identically" in verdict.reason


def test_a_close_call_is_not_recommended() -> None:
    # 16-bit values that look fine either way round (0x0102 = 258, swapped 0x0201 = 513)
    verdict = rank_width(2, [[0x0102, 0x0304]] * 3)
    assert verdict is not None
    assert verdict.recommended is None
    assert "equally plausible" in verdict.reason


def test_the_scores_of_single_values() -> None:
    assert magnitude_score(0.0, True) is None
    assert magnitude_score(float("nan"), True) == 0.0
    assert magnitude_score(float("inf"), True) == 0.0
    assert magnitude_score(1e-40, True) == 0.0  # denormal
    assert magnitude_score(65.0, True) == 1.0
    assert magnitude_score(1e10, True) == 0.0
    assert magnitude_score(999, False) == 1.0
    assert magnitude_score(2**31, False) == 0.0
    assert stability_score(100.0, 100.5) == 1.0
    assert stability_score(1.0, 1e20) == pytest.approx(0.0, abs=1e-6)
    assert stability_score(5.0, 5.0) is None
    assert stability_score(float("nan"), 1.0) == 0.0


def test_a_block_too_short_for_a_width_gets_no_verdict() -> None:
    assert [v.width for v in rank_orders([[1, 2, 3]])] == [2, 4]
    assert rank_width(4, []) is None
