"""docs/mes.md shows the state diagrams generated from the transition tables, up to date."""

from pathlib import Path

from mes.orders.diagrams import mermaid, render_block, update_doc

DOC = Path(__file__).resolve().parents[2] / "docs" / "mes.md"


def test_doc_diagrams_are_current():
    text = DOC.read_text(encoding="utf-8")
    assert update_doc(text) == text, "run: python -m mes.orders.diagrams --write docs/mes.md"
    assert render_block("work_order") in text
    assert render_block("operation") in text


def test_diagram_follows_the_table():
    wo = mermaid("work_order")
    assert "COMPLETED --> CLOSED: Close" in wo
    assert "HELD --> RUNNING: ReleaseHold (last hold)" in wo
    assert "HELD --> HELD: PlaceHold, ReleaseHold (holds left)" in wo
    assert "[*] --> BLOCKED" in mermaid("operation")
