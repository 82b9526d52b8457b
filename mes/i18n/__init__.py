"""Message catalogues shared by the MES's texts and the pages: one gettext `.po` per language.

The msgid is a key (`btn.start`, `refusal.NO_JOB`), the msgstr the text. `en` is the reference:
every language has exactly its keys, none empty (tests/mes/test_i18n.py). The pages load a JSON
made from the same catalogue (`/i18n/<lang>.json`); `qps` is a pseudo-locale made from `en`
that brackets every text, so a page run in it shows any hard-coded string unbracketed.
"""

from functools import cache
from importlib.resources import files
from typing import Any

from babel.messages.pofile import read_po

LANGUAGES = ("en", "zh-CN")
PSEUDO = "qps"


@cache
def catalogue(language: str) -> dict[str, str]:
    if language == PSEUDO:
        return {k: f"\u27e6{v}\u27e7" for k, v in catalogue("en").items()}
    if language not in LANGUAGES:
        raise KeyError(f"no catalogue for language {language!r} (have {', '.join(LANGUAGES)})")
    with (files("mes.i18n") / f"{language}.po").open("rb") as po:
        messages = read_po(po)
    return {str(m.id): str(m.string) for m in messages if m.id}


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


def negotiate(accept_language: str | None, station_language: str | None = None) -> str:
    """The language of an answer: the first of `Accept-Language` (by q-value) that has a
    catalogue (`zh`, `zh-CN`, `zh-Hans*` mean zh-CN; `en-*` means en), else the station's
    configured language, else en. A malformed header counts as absent."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        found = _language_of(tag.strip())
        if found is not None and q > 0:
            ranked.append((-q, i, found))
    if ranked:
        return min(ranked)[2]
    return station_language if station_language in LANGUAGES else "en"


def _language_of(tag: str) -> str | None:
    low = tag.lower()
    if low == "zh" or low.startswith(("zh-cn", "zh-hans", "zh-sg")):
        return "zh-CN"
    if low == "en" or low.startswith("en-"):
        return "en"
    return None
