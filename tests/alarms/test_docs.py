from pathlib import Path

from mes.alarms.lifecycle import mermaid_diagram

DOC = Path(__file__).resolve().parents[2] / "docs" / "alarms-quality.md"


def test_documented_lifecycle_diagram_is_the_generated_one() -> None:
    assert mermaid_diagram() in DOC.read_text()
