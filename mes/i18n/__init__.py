"""Message catalogues shared by the MES's texts and the pages: one JSON file per language.

`en` is the reference: every language has exactly its keys (tests/mes/test_i18n.py). The pages
load the same files from `/i18n/<lang>.json`; `qps` is a pseudo-locale made from `en` that
brackets every text, so a page run in it shows any hard-coded string unbracketed.
"""

import json
from functools import cache
from importlib.resources import files
from typing import Any

LANGUAGES = ("en", "zh-CN")
PSEUDO = "qps"


@cache
def catalogue(language: str) -> dict[str, str]:
    if language == PSEUDO:
        return {k: f"\u27e6{v}\u27e7" for k, v in catalogue("en").items()}
    if language not in LANGUAGES:
        raise KeyError(f"no catalogue for language {language!r} (have {', '.join(LANGUAGES)})")
    data: dict[str, str] = json.loads(
        (files("mes.i18n") / f"{language}.json").read_text(encoding="utf-8")
    )
    return data


def text(key: str, language: str = "en", **params: Any) -> str:
    """The text of `key` in `language`, placeholders `{name}` filled; the key itself if unknown."""
    found = catalogue(language).get(key) or catalogue("en").get(key, key)
    return found.format_map({k: str(v) for k, v in params.items()}) if params else found


def refusal(code: str, language: str = "en", message: str = "") -> str:
    """What the operator should do about a refusal, in plain words."""
    key = f"refusal.{code}"
    if key in catalogue("en"):
        return text(key, language)
    return text("refusal.other", language, message=message or code)
