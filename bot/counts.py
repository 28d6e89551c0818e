"""Counts in words that agree with them: "1 rule", "2 rules", "1 entity", "3 entities"."""

from __future__ import annotations


def plural(number: int, singular: str, plural_form: str | None = None) -> str:
    """`number` and the noun in the form that agrees with it; `plural_form` for nouns that take more than an s."""
    if number == 1:
        return f"{number} {singular}"
    return f"{number} {plural_form or singular + 's'}"
