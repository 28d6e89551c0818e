"""An entry analysed once for matching: its fields, each turned into words the first time a rule looks at
it, and the caches every rule shares; and the node every compiled query is made of."""

from __future__ import annotations

from collections.abc import Callable

from bot.match.text import FieldText, analyze
from bot.model import Entry, Span

DEFAULT_FIELDS = ("title", "body")
_ENTRY_FIELDS: dict[str, Callable[[Entry], str]] = {
    "title": lambda e: e.title,
    "body": lambda e: e.body,
    "source": lambda e: e.outlet,
    "url": lambda e: e.url,
    "lang": lambda e: e.language or "",
}
_FIELD_NAMES = tuple(_ENTRY_FIELDS)
_FIELD_ORDER = {name: rank for rank, name in enumerate(_FIELD_NAMES)}
QUERY_FIELDS = {"title": ("title",), "source": ("source",), "url": ("url",), "lang": ("lang",)}


Hit = tuple[str, int, int, tuple[tuple[int, int], ...]]
"""A match in one field: (field, first word, word after the last, the word ranges to mark).

A plain tuple rather than a class: evaluation makes millions of them."""


class Fields(dict[str, FieldText]):
    """An entry's fields, each analysed the first time a rule looks at it."""

    __slots__ = ("entry",)

    def __init__(self, entry: Entry) -> None:
        super().__init__()
        self.entry = entry

    def __missing__(self, name: str) -> FieldText:
        text = self[name] = analyze(_ENTRY_FIELDS[name](self.entry))
        return text


class Document:
    """An entry analysed once, shared by all rules evaluated on it, with per-document caches."""

    __slots__ = ("_spans", "cache", "entry", "fields")

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        self.fields = Fields(entry)
        self.cache: dict[Evaluator, list[Hit]] = {}
        self._spans: dict[tuple[int, int, int], Span] = {}

    def spans(self, hits: list[Hit]) -> tuple[Span, ...]:
        """The marked words of hits as Spans over the entry's own strings, title first, without repeats."""
        ranges = {(_FIELD_ORDER[name], first, last) for name, _, _, words in hits for first, last in words}
        return tuple(self._span(key) for key in sorted(ranges))

    def _span(self, key: tuple[int, int, int]) -> Span:
        """One Span object per marked range, shared by every rule that marks it."""
        span = self._spans.get(key)
        if span is None:
            rank, first, last = key
            name = _FIELD_NAMES[rank]
            text = self.fields[name]
            starts, ends = text.offsets()
            start, end = starts[first], ends[last - 1]
            span = self._spans[key] = Span(name, start, end, text.text[start:end])
        return span


class Evaluator:
    """One compiled node of a query."""

    __slots__ = ()

    def run(self, doc: Document) -> list[Hit] | None:
        raise NotImplementedError
