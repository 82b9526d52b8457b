"""Who may run an operation (pure): the routing's workstation or its work centre's, plus the
alternatives, plus where a started operation runs; the Gantt's drop targets and the lock's
check read the same rule as the planner."""

from mes.planning.eligible import Planned, capable, eligible, steps
from tests.planning.support import planning_plant

CFG = planning_plant("sqlite://")
ROUTING = steps(CFG)


def _op(number: str, workstation: str | None = None, centre: str | None = None) -> Planned:
    return Planned(
        "WO-1", "RT-BRKT-200", "BRKT-200", 0, None, number, "x", "READY", workstation, centre
    )


def test_the_routing_names_the_workstation_and_its_alternatives() -> None:
    stamp = _op("0010")
    assert capable(CFG, ROUTING[("RT-BRKT-200", "0010")], stamp, None) == {
        "ws-10": 1.0,
        "ws-11": 0.5,
    }
    assert eligible(CFG, stamp, ROUTING) == ["ws-10", "ws-11"]


def test_a_work_centre_means_each_of_its_workstations_at_its_speed() -> None:
    bend = _op("0020")
    assert capable(CFG, ROUTING[("RT-BRKT-200", "0020")], bend, None) == {
        "ws-20": 2.0,
        "ws-21": 1.0,
    }
    assert eligible(CFG, bend, ROUTING) == ["ws-20", "ws-21"]


def test_without_a_routing_the_rows_own_place_and_where_it_runs() -> None:
    loose = _op("0030", workstation="ws-10")
    assert capable(CFG, None, loose, None) == {"ws-10": 1.0}
    assert capable(CFG, None, loose, "ws-11") == {"ws-10": 1.0, "ws-11": 1.0}
    assert eligible(CFG, _op("0030", centre="PRESS"), ROUTING) == ["ws-20", "ws-21"]
