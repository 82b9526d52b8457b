"""Password policy (pure): a minimum length, not a common password, not the user name."""

from functools import cache


class WeakPassword(ValueError):
    """The password is refused; the message says why (never the password)."""


@cache
def _common() -> frozenset[str]:
    # zxcvbn's list of the 30,000 most used passwords (from real leaks), lowercased
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"])


def check_password(password: str, min_length: int, username: str | None = None) -> None:
    if len(password) < min_length:
        raise WeakPassword(f"password must have at least {min_length} characters")
    folded = password.lower()
    if folded in _common():
        raise WeakPassword("password is one of the most common passwords: choose another")
    if username and folded == username.lower():
        raise WeakPassword("password must not be the user name")
    if len(set(password)) < 3:
        raise WeakPassword("password must not repeat one or two characters")
