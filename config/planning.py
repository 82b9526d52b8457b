"""Plant-file section `planning`: finite-capacity scheduling (docs/scheduling.md, issue 15).

The master data the planner needs beyond routings (setup families and their matrix) and the
settings of the MES's planning service (solver limit, debounce, frozen horizon)."""

from pydantic import Field

from config.base import Strict


class SetupChange(Strict):
    """Setup time when a workstation changes from one product family to another."""

    from_family: str = Field(description="the family the workstation ran before")
    to_family: str = Field(description="the family it is set up for")
    seconds: float = Field(ge=0, description="setup time of this change")


class Planning(Strict):
    enabled: bool = Field(
        default=True, description="run the planning service (replans when the floor changes)"
    )
    time_limit_s: float = Field(
        default=5.0, gt=0, le=600, description="wall-clock limit of one planning run"
    )
    workers: int = Field(default=1, ge=1, le=16, description="CP-SAT search workers")
    seed: int = Field(default=0, ge=0, description="CP-SAT random seed (same input, same plan)")
    debounce_s: float = Field(
        default=10.0,
        ge=0,
        description="a replan waits until the floor stopped changing for this long",
    )
    max_delay_s: float = Field(
        default=120.0,
        ge=0,
        description="a replan waits at most this long after the first change, however busy the "
        "floor",
    )
    poll_s: float = Field(
        default=5.0, gt=0, description="how often the service looks for changes on the floor"
    )
    frozen_horizon_s: float = Field(
        default=3600.0,
        ge=0,
        description="operations the current plan starts within this many seconds keep their "
        "workstation and start in the next plan",
    )
    breakdown_repair_s: float = Field(
        default=3600.0,
        gt=0,
        description="an open breakdown (a `fault` downtime event) is expected to end this long "
        "after it started (and not before now plus `breakdown_min_left_s`)",
    )
    breakdown_min_left_s: float = Field(
        default=900.0, ge=0, description="a breakdown past its expected end still lasts this long"
    )
    default_setup_s: float = Field(
        default=0.0, ge=0, description="setup between two different families not listed below"
    )
    setups: list[SetupChange] = Field(
        default=[], description="sequence-dependent setup times between product families"
    )
    keep_plans: int = Field(
        default=200, ge=2, description="plans kept in the history (older ones are deleted)"
    )
