"""Genealogy: trace forward (what contains lot X) and backward (what went into serial Y)."""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from mes.api.deps import SessionDep, require
from mes.api.problems import PROBLEM_CONTENT, Problem
from mes.api.types import Text
from mes.auth.roles import Permission, Principal
from mes.production import genealogy

router = APIRouter(prefix="/api/v1/genealogy", tags=["genealogy"])

_PROBLEM = PROBLEM_CONTENT
_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "no or bad token", "content": _PROBLEM},
    403: {"description": "role may not read", "content": _PROBLEM},
    404: {"description": "no lot or serial with this code", "content": _PROBLEM},
}


class TraceNodeOut(BaseModel):
    kind: str
    code: str
    product: str
    work_order: str | None
    depth: int


class TraceOut(BaseModel):
    code: str
    direction: str
    nodes: list[TraceNodeOut]


Code = Annotated[Text, Query(min_length=1, max_length=80, description="lot or serial number")]
ProductQ = Annotated[Text | None, Query(max_length=64, description="narrow to one product")]


def _trace(session: SessionDep, code: str, product: str | None, forward: bool) -> TraceOut:
    if not genealogy.find_lots(session, code, product):
        raise Problem(404, "LOT_NOT_FOUND", f"no lot or serial {code!r} is recorded")
    nodes = (genealogy.trace_forward if forward else genealogy.trace_backward)(
        session, code, product
    )
    return TraceOut(
        code=code,
        direction="forward" if forward else "backward",
        nodes=[TraceNodeOut(**n.as_json()) for n in nodes],
    )


@router.get(
    "/forward",
    response_model=TraceOut,
    responses=_RESPONSES,
    summary="Which lots and serials contain this lot or serial (recall)",
)
def trace_forward(
    code: Code,
    session: SessionDep,
    _who: Annotated[Principal, require(Permission.READ)],
    product: ProductQ = None,
) -> TraceOut:
    return _trace(session, code, product, True)


@router.get(
    "/backward",
    response_model=TraceOut,
    responses=_RESPONSES,
    summary="What went into this lot or serial",
)
def trace_backward(
    code: Code,
    session: SessionDep,
    _who: Annotated[Principal, require(Permission.READ)],
    product: ProductQ = None,
) -> TraceOut:
    return _trace(session, code, product, False)
