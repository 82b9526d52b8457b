"""Inspection plans and their evaluation (no I/O).

A plan belongs to one routing operation and lists characteristics: variables (a nominal value
with tolerances and a unit) and pass/fail attributes. A result outside the spec makes the
inspection fail; the service turns a failure into a nonconformance and a hold.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Variable(_Strict):
    kind: Literal["variable"] = "variable"
    name: str = Field(min_length=1, max_length=64)
    nominal: float
    tol_minus: float = Field(ge=0, description="allowed below nominal")
    tol_plus: float = Field(ge=0, description="allowed above nominal")
    unit: str = Field(min_length=1, max_length=16)

    @property
    def lower(self) -> float:
        return self.nominal - self.tol_minus

    @property
    def upper(self) -> float:
        return self.nominal + self.tol_plus


class Attribute(_Strict):
    kind: Literal["attribute"] = "attribute"
    name: str = Field(min_length=1, max_length=64)
    description: str = ""


#: `kind` may be left out for a variable.
Characteristic = Variable | Attribute


class InspectionPlan(_Strict):
    routing: str = Field(min_length=1, max_length=64)
    operation: str = Field(pattern=r"^\d{4}$")
    characteristics: list[Characteristic] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> "InspectionPlan":
        names = [c.name for c in self.characteristics]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate characteristic(s) {dupes}")
        return self


class InspectionError(ValueError):
    """Results that do not fit the plan; the message names the characteristic."""


@dataclass(frozen=True, slots=True)
class Finding:
    name: str
    value: float | bool
    ok: bool
    lower: float | None = None
    upper: float | None = None
    unit: str | None = None

    def describe(self) -> str:
        if self.lower is None:
            return f"{self.name}: {'pass' if self.value else 'fail'}"
        state = "ok" if self.ok else "out of spec"
        return f"{self.name} = {self.value} {self.unit} ({state}: {self.lower}..{self.upper})"


@dataclass(frozen=True, slots=True)
class Outcome:
    findings: tuple[Finding, ...]

    @property
    def passed(self) -> bool:
        return all(f.ok for f in self.findings)

    @property
    def failures(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if not f.ok)

    def summary(self) -> str:
        bad = self.failures
        if not bad:
            return "all characteristics in spec"
        return "; ".join(f.describe() for f in bad)


def evaluate(plan: InspectionPlan, results: Mapping[str, float | bool]) -> Outcome:
    """Judge results (a subset of the plan is allowed); unknown names and wrong types raise."""
    by_name = {c.name: c for c in plan.characteristics}
    findings = []
    for name, value in results.items():
        c = by_name.get(name)
        if c is None:
            raise InspectionError(
                f"{name!r} is not a characteristic of {plan.routing}/{plan.operation} "
                f"(known: {', '.join(sorted(by_name))})"
            )
        if isinstance(c, Attribute):
            if not isinstance(value, bool):
                raise InspectionError(f"{name!r} is a pass/fail attribute: give true or false")
            findings.append(Finding(name, value, value))
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InspectionError(f"{name!r} is a variable in {c.unit}: give a number")
        if not math.isfinite(value):
            raise InspectionError(f"{name!r}: {value} is not a finite number")
        ok = c.lower <= value <= c.upper
        findings.append(Finding(name, float(value), ok, c.lower, c.upper, c.unit))
    if not findings:
        raise InspectionError("no results given")
    return Outcome(tuple(findings))
