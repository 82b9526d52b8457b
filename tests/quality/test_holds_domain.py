from datetime import UTC, datetime

import pytest

from mes.quality.holds import (
    Disposition,
    Hold,
    HoldState,
    IllegalTransition,
    NotPermitted,
    Release,
    Target,
    TargetKind,
    blocking,
    operation_key,
    release,
)

T0 = datetime(2026, 11, 25, 10, tzinfo=UTC)


def hold(hid: str, kind: TargetKind, target: str) -> Hold:
    return Hold(hid, Target(kind, target), "oven excursion", "qa-lead", "system", T0)


def test_only_quality_releases_and_only_once() -> None:
    h = hold("H-1", TargetKind.LOT, "L1")
    with pytest.raises(NotPermitted, match="boss may not release hold H-1: needs role quality"):
        release(h, Release("boss", frozenset({"supervisor"}), T0, Disposition.SCRAP))
    done = release(h, Release("qa", frozenset({"quality"}), T0, Disposition.REWORK, "re-cure"))
    assert (done.state, done.disposition, done.released_by, done.comment) == (
        HoldState.RELEASED,
        Disposition.REWORK,
        "qa",
        "re-cure",
    )
    with pytest.raises(IllegalTransition, match="hold H-1 cannot release when released"):
        release(done, Release("qa", frozenset({"quality"}), T0, Disposition.SCRAP))


def test_holds_stack_and_block_by_any_target() -> None:
    holds = [
        hold("H-1", TargetKind.WORK_ORDER, "WO-1"),
        hold("H-2", TargetKind.WORK_ORDER, "WO-1"),
        hold("H-3", TargetKind.OPERATION, operation_key("WO-2", "0020")),
        hold("H-4", TargetKind.WORKSTATION, "ws-20"),
        hold("H-5", TargetKind.LOT, "L9"),
    ]
    ids = lambda hs: [h.hold_id for h in hs]  # noqa: E731
    assert ids(blocking(holds, "WO-1", "0010", "ws-10")) == ["H-1", "H-2"]
    assert ids(blocking(holds, "WO-2", "0020", "ws-10")) == ["H-3"]
    assert ids(blocking(holds, "WO-2", "0010", "ws-20")) == ["H-4"]
    assert ids(blocking(holds, "WO-3", None, None, ["L1", "L9"])) == ["H-5"]
    released = release(holds[0], Release("qa", frozenset({"quality"}), T0, Disposition.USE_AS_IS))
    assert ids(blocking([released, holds[1]], "WO-1", None, None)) == ["H-2"]
    assert holds[1].describe() == "oven excursion (hold H-2)"
