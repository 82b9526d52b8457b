import pytest
from pydantic import ValidationError

from mes.quality.inspection import InspectionError, InspectionPlan, evaluate

PLAN = InspectionPlan.model_validate(
    {
        "routing": "RT-BRKT-200",
        "operation": "0020",
        "characteristics": [
            {"name": "hole_dia", "nominal": 8.0, "tol_minus": 0.05, "tol_plus": 0.1, "unit": "mm"},
            {"kind": "attribute", "name": "no_burr"},
        ],
    }
)


def test_in_spec_passes_and_out_of_spec_names_the_characteristic() -> None:
    assert evaluate(PLAN, {"hole_dia": 8.1, "no_burr": True}).passed
    out = evaluate(PLAN, {"hole_dia": 7.94, "no_burr": False})
    assert not out.passed
    assert out.summary() == "hole_dia = 7.94 mm (out of spec: 7.95..8.1); no_burr: fail"


def test_results_that_do_not_fit_the_plan_are_refused() -> None:
    with pytest.raises(
        InspectionError, match="'width' is not a characteristic of RT-BRKT-200/0020"
    ):
        evaluate(PLAN, {"width": 1.0})
    with pytest.raises(InspectionError, match="'hole_dia' is a variable in mm: give a number"):
        evaluate(PLAN, {"hole_dia": True})
    with pytest.raises(InspectionError, match="'no_burr' is a pass/fail attribute"):
        evaluate(PLAN, {"no_burr": 1})
    with pytest.raises(InspectionError, match="not a finite number"):
        evaluate(PLAN, {"hole_dia": float("nan")})


def test_plan_schema_refuses_duplicates_and_negative_tolerances() -> None:
    with pytest.raises(ValidationError, match="duplicate characteristic"):
        InspectionPlan.model_validate(
            {
                "routing": "R",
                "operation": "0010",
                "characteristics": [{"kind": "attribute", "name": "a"}] * 2,
            }
        )
    with pytest.raises(ValidationError, match="tol_minus"):
        InspectionPlan.model_validate(
            {
                "routing": "R",
                "operation": "0010",
                "characteristics": [
                    {"name": "d", "nominal": 1, "tol_minus": -1, "tol_plus": 1, "unit": "mm"}
                ],
            }
        )
