from pathlib import Path

from config.reference import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_configuration_reference_is_current() -> None:
    assert DOC.read_text() == render(), (
        "docs/configuration.md is stale: run `.venv/bin/python -m config.reference > "
        "docs/configuration.md`"
    )


def test_reference_names_every_section_and_a_nested_driver_field() -> None:
    text = render()
    for section in ("`broker`", "`historian`", "`database`", "`edge`", "`mes`", "`alarms[]`"):
        assert f"## {section}" in text
    assert "## `devices[].tags[]` (ModbusTag)" in text
    assert "| `address` |" in text
