"""The board's browser tests share one Chromium per module."""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.mes.browser_support import chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b
