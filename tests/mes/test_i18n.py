"""The message catalogues: zh-CN and en have the same keys, every key the page uses exists, and
placeholders match (a missing or half-translated text fails here, not on the shop floor)."""

import re
import string
from pathlib import Path

import pytest

from mes.i18n import LANGUAGES, PSEUDO, catalogue, refusal, text
from mes.orders.states import OperationState, WorkOrderState
from mes.performance.states import MachineState
from mes.quality.holds import Disposition

STATIC = Path(__file__).resolve().parents[2] / "mes" / "ui" / "static"


def _page_keys() -> set[str]:
    keys: set[str] = set()
    for page in STATIC.glob("*.html"):  # the station page, the board, the owner's page
        keys |= set(re.findall(r'data-i18n="([^"]+)"', page.read_text(encoding="utf-8")))
    for js in (STATIC / "js").glob("*.js"):
        code = js.read_text(encoding="utf-8")
        keys |= set(re.findall(r'\bt\("([a-z_.A-Z]+)"', code))
        # keys picked by a condition or from a list: `t(up ? "live.on" : "live.off")`
        keys |= set(re.findall(r'"((?:live|summary)\.[a-z_]+)"', code))
    return keys


def _board_states() -> set[str]:
    """Keys the board and the owner's page build from the API's states."""
    return (
        {f"wo.{s.value}" for s in WorkOrderState}
        | {f"machine.{s.value}" for s in MachineState}
        | {f"disposition.{d.value}" for d in Disposition}
    )


def _reasons() -> set[str]:
    app = (STATIC / "js" / "app.js").read_text(encoding="utf-8")
    lists = re.findall(r"_REASONS = \[([^\]]*)\]", app)
    return {f"reason.{r.lower()}" for found in lists for r in re.findall(r'"(\w+)"', found)}


def _fields(s: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(s) if name}


def test_every_language_has_every_key_filled() -> None:
    reference = catalogue("en")
    for language in LANGUAGES:
        texts = catalogue(language)
        assert sorted(set(reference) - set(texts)) == [], f"missing in {language}"
        assert sorted(set(texts) - set(reference)) == [], f"unknown in {language}"
        assert [k for k, v in texts.items() if not v.strip()] == [], f"empty in {language}"
        wrong = [k for k in reference if _fields(reference[k]) != _fields(texts[k])]
        assert wrong == [], f"placeholders differ in {language}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_key_the_page_uses_exists(language: str) -> None:
    used = (
        _page_keys() | _reasons() | _board_states() | {f"status.{s.value}" for s in OperationState}
    )
    assert len(used) > 40
    assert sorted(used - set(catalogue(language))) == []


def test_refusals_say_what_to_do_next() -> None:
    assert "CMD:START" in refusal("OPERATION_NOT_RUNNING", "en")
    assert refusal("OPERATION_NOT_RUNNING", "zh-CN").startswith("任务未开始")
    assert refusal("SOMETHING_NEW", "en", "it broke") == "Refused: it broke"
    assert text("queue.waiting", "zh-CN", n=2) == "2 条待发送"


def test_pseudo_locale_brackets_every_text() -> None:
    pseudo = catalogue(PSEUDO)
    assert set(pseudo) == set(catalogue("en"))
    assert all(v.startswith("\u27e6") and v.endswith("\u27e7") for v in pseudo.values())


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_refusal_code_has_a_text(language: str) -> None:
    from mes.core.errors import RefusalCode

    texts = catalogue(language)
    assert sorted(c.value for c in RefusalCode if f"refusal.{c.value}" not in texts) == []


@pytest.mark.parametrize(
    ("header", "station", "expected"),
    [
        (None, None, "en"),
        (None, "zh-CN", "zh-CN"),
        ("", "zh-CN", "zh-CN"),
        ("zh-CN,zh;q=0.9,en;q=0.8", None, "zh-CN"),
        ("en-US,en;q=0.9", "zh-CN", "en"),
        ("fr-FR, zh-Hans;q=0.5, en;q=0.4", "en", "zh-CN"),
        ("de, fr;q=0.8", "zh-CN", "zh-CN"),  # nothing we have: the station's
        ("en;q=0.1, zh;q=0.9", None, "zh-CN"),
        ("zh;q=0, en", "zh-CN", "en"),
        ("en;q=abc, zh", None, "zh-CN"),  # a malformed entry is skipped
        ("*", "zh-CN", "zh-CN"),
    ],
)
def test_answer_language(header: str | None, station: str | None, expected: str) -> None:
    from mes.i18n import negotiate

    assert negotiate(header, station) == expected
