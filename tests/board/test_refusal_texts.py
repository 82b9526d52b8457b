"""The refusals the board, the Gantt and the owner's page can receive have a text in every
language: each problem `code` that the API operations those pages call declare (their OpenAPI
document, made from `refusals(...)` and `@raises(...)`) has a `problem.<CODE>` entry in both
catalogues. A new route on a page, or a new code on one of its routes, fails here until it is
worded."""

import re
from pathlib import Path
from typing import Any

import pytest

from mes.api.problems import CODES
from mes.core.errors import RefusalCode
from mes.i18n import LANGUAGES, catalogue
from tests.board.support import plant

JS = Path(__file__).resolve().parents[2] / "mes" / "ui" / "static" / "js"
PAGES = ("board.js", "gantt.js", "owner.js")
#: Codes any route may answer without declaring them: the last-resort handlers'.
UNDECLARED = {
    "UNSTORABLE_VALUE",
    "INTERNAL_ERROR",
}


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from mes.app import create_app
    from tests.mes.scan_harness import make_runtime

    db = tmp_path_factory.mktemp("refusals") / "mes.db"
    cfg = plant(f"sqlite:///{db}", "mqtt://127.0.0.1:1")  # never started: the document only
    return dict(create_app(make_runtime(cfg)).openapi())


def _shape(path: str) -> str:
    """A path with its parameters blanked: `/holds/{hold_id}` and `/holds/${h}` alike."""
    return re.sub(r"\$?\{[^}]*\}", "{}", path)


def _page_paths() -> set[str]:
    paths: set[str] = set()
    for name in PAGES:
        code = (JS / name).read_text(encoding="utf-8")
        for url in re.findall(r"[\"`](/api/v1/[^\"`?]*)", code):
            paths.add(_shape(url))
    return paths


def _declared(openapi: dict[str, Any]) -> dict[str, set[str]]:
    """The codes each page path declares, over all its operations."""
    found: dict[str, set[str]] = {}
    for path, item in openapi["paths"].items():
        codes = found.setdefault(_shape(path), set())
        for operation in item.values():
            for response in operation.get("responses", {}).values():
                said = response.get("description", "")
                codes |= {c for c in re.findall(r"`([A-Z][A-Z_]+)`", said) if c in CODES}
    return found


def test_every_page_route_is_in_the_api(openapi: dict[str, Any]) -> None:
    pages = _page_paths()
    assert {"/api/v1/schedule/lock", "/api/v1/holds/{}/release", "/api/v1/dashboard/summary"} <= (
        pages
    )
    assert sorted(pages - set(_declared(openapi))) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_code_a_page_can_receive_has_a_text(openapi: dict[str, Any], language: str) -> None:
    declared = _declared(openapi)
    codes = set().union(*(declared[p] for p in _page_paths())) | UNDECLARED
    assert {"OPERATION_STARTED", "PLAN_SUPERSEDED", "ILLEGAL_TRANSITION", "FORBIDDEN"} <= codes
    texts = catalogue(language)
    assert sorted(c for c in codes if f"problem.{c}" not in texts) == []


def test_every_problem_text_is_of_a_real_code() -> None:
    known = set(CODES) | {c.value for c in RefusalCode} | {"INTERNAL_ERROR"}
    worded = {k.removeprefix("problem.") for k in catalogue("en") if k.startswith("problem.")}
    assert sorted(worded - known) == []
