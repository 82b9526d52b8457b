"""Debian's chromium driven by Playwright for Python (no browser download), one per module."""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: screenshots of every screen, kept after the run (look at them)
ARTEFACTS = Path(os.environ.get("SHOPFLOOR_ARTEFACTS", tempfile.gettempdir())) / "station-shots"


#: the texts of the page outside the MES's data (`[data-value]`) that the pseudo-locale did not
#: bracket: hard-coded words (numbers, times and signs alone are not words)
BARE_TEXT_JS = """() => {
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const text = n.textContent.trim();
    const el = n.parentElement;
    if (!text || el.closest('[data-value], option, [hidden], dialog:not([open])')) continue;
    if (/^[\\d\\s:().,%/\u2013-]*$/.test(text)) continue;
    if (!text.includes('\u27e6')) out.push(text);
  }
  return out;
}"""


def need_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip("needs Debian's chromium (tests/services/ensure.py installs it)")


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless chromium; a test module opens one (fixture) and a context per test."""
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def shot(page: Any, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
