"""docs/performance.md shows the accounting table generated from the code, up to date."""

from pathlib import Path

from mes.performance.build import accounting_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "performance.md"


def test_documented_accounting_is_the_generated_one() -> None:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- accounting:start -->\n", 1)[1].split("\n<!-- accounting:end -->", 1)[0]
    assert block == accounting_table()
