"""Text from outside made safe once, where parsed entries are built, so every later stage sees clean text.

Feeds and pages may carry what no stage downstream can take: lone surrogates (from JSON `\\ud800`
escapes) that UTF-8 cannot encode, NUL bytes PostgreSQL refuses, and control characters that a
terminal obeys (`\\x1b]0;...` renames the window, `\\x1b[2J` clears it). One `str.translate` pass removes
them in linear time; tab and line breaks stay. Fields are also cut to a length no real item reaches,
so one item's cost in memory and matching time is bounded.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from bot.model import Entry

REPLACEMENT = "\ufffd"
_TABLE: dict[int, int | None] = {code: None for code in [*range(0x00, 0x20), *range(0x7F, 0xA0)]}
_TABLE.update({ord("\t"): ord("\t"), ord("\n"): ord("\n"), ord("\r"): ord("\n")})
_TABLE.update({code: ord(REPLACEMENT) for code in range(0xD800, 0xE000)})

MAX_TEXT = 1_000_000
"""Characters kept of a summary or full text (a long article has 100,000)."""
MAX_LINE = 4_096
"""Characters kept of a title, link, GUID, author, outlet or language."""
_LONG_FIELDS = frozenset({"summary", "content"})


def clean_text(text: str, limit: int = MAX_TEXT) -> str:
    """`text` without NULs and control characters (tab and line breaks kept), surrogates replaced by U+FFFD,
    cut to `limit` characters."""
    return text[:limit].translate(_TABLE)


def clean_entry(entry: Entry) -> Entry:
    """The entry with every text field cleaned and cut to its length."""
    changes: dict[str, Any] = {}
    for field in fields(entry):
        value = getattr(entry, field.name)
        if isinstance(value, str):
            cleaned = clean_text(value, MAX_TEXT if field.name in _LONG_FIELDS else MAX_LINE)
            if cleaned != value:
                changes[field.name] = cleaned
    return replace(entry, **changes) if changes else entry

