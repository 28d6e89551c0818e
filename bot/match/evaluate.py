"""Evaluating a query against an entry: matched or not, and which words made it match.

A query is compiled once into a tree of small evaluators; an entry is analysed once into a
Document that every rule then shares (words, positions and per-document caches).
Each evaluator's `run` returns None when its part of the query does not hold, else the list of
positional hits that satisfied it (empty for NOT, which holds by absence and marks nothing).
Unfielded terms search the title and the body; positions never cross from one field to another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from bot.match.entities import Entity, Gazetteer
from bot.match.query import And, EntityRef, Field, Near, Not, Or, Phrase, Query, QueryError, clauses
from bot.match.text import FieldText, analyze, glob_match, has_wildcard
from bot.model import ClauseHit, Entry, Span

DEFAULT_FIELDS = ("title", "body")
_ENTRY_FIELDS: dict[str, Callable[[Entry], str]] = {
    "title": lambda e: e.title,
    "body": lambda e: e.body,
    "source": lambda e: e.outlet,
    "url": lambda e: e.url,
    "lang": lambda e: e.language or "",
}
_FIELD_ORDER = {name: rank for rank, name in enumerate(_ENTRY_FIELDS)}
_QUERY_FIELDS = {"title": ("title",), "source": ("source",), "url": ("url",), "lang": ("lang",)}


class Hit(NamedTuple):
    """A match in one field: word positions [start, end) and the word ranges to mark."""

    field: str
    start: int
    end: int
    words: tuple[tuple[int, int], ...]


class Document:
    """An entry analysed once, lazily per field, shared by all rules evaluated on it."""

    __slots__ = ("_fields", "cache", "entry")

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        self._fields: dict[str, FieldText] = {}
        self.cache: dict[object, list[Hit]] = {}

    def field(self, name: str) -> FieldText:
        text = self._fields.get(name)
        if text is None:
            text = self._fields[name] = analyze(_ENTRY_FIELDS[name](self.entry))
        return text

    def spans(self, hits: list[Hit]) -> tuple[Span, ...]:
        """The marked words of hits as Spans over the entry's own strings, title first, without repeats."""
        unique: dict[tuple[str, int, int], Span] = {}
        for hit in hits:
            text = self.field(hit.field)
            for first, last in hit.words:
                start, end = text.starts[first], text.ends[last - 1]
                unique[(hit.field, start, end)] = Span(hit.field, start, end, text.text[start:end])
        return tuple(unique[k] for k in sorted(unique, key=lambda k: (_FIELD_ORDER[k[0]], k[1], k[2])))


class Evaluator:
    """One compiled node of a query."""

    __slots__ = ()

    def run(self, doc: Document) -> list[Hit] | None:
        raise NotImplementedError


class PhraseEval(Evaluator):
    """Consecutive word patterns in any of the given fields."""

    __slots__ = ("fields", "key", "words")

    def __init__(self, words: tuple[str, ...], fields: tuple[str, ...]) -> None:
        self.words = words
        self.fields = fields
        self.key = (words, fields)

    def run(self, doc: Document) -> list[Hit] | None:
        return self.hits(doc) or None

    def hits(self, doc: Document) -> list[Hit]:
        cached = doc.cache.get(self.key)
        if cached is None:
            cached = doc.cache[self.key] = [
                hit for name in self.fields for hit in phrase_hits(self.words, name, doc.field(name))
            ]
        return cached


def phrase_hits(words: tuple[str, ...], name: str, text: FieldText) -> list[Hit]:
    """Where the word patterns occur one after the other in one field."""
    first, rest = words[0], words[1:]
    starts: list[int] = []
    for word in text.matching_words(first):
        starts.extend(text.index[word])
    if not rest:
        return [Hit(name, i, i + 1, ((i, i + 1),)) for i in sorted(starts)]
    hits = []
    size = len(words)
    for i in sorted(starts):
        if i + size <= len(text.words) and all(
            _word_matches(pattern, text.words[i + k + 1]) for k, pattern in enumerate(rest)
        ):
            hits.append(Hit(name, i, i + size, ((i, i + size),)))
    return hits


def _word_matches(pattern: str, word: str) -> bool:
    if not has_wildcard(pattern):
        return pattern == word
    return glob_match(pattern, word)


class EntityEval(Evaluator):
    """Any name of an entity; its ambiguous forms count only if a full name occurs in the entry."""

    __slots__ = ("ambiguous", "forms", "key", "witnesses")

    def __init__(self, entity: Entity, fields: tuple[str, ...]) -> None:
        self.forms = [PhraseEval(words, fields) for words in entity.forms]
        self.ambiguous = [PhraseEval(words, fields) for words in entity.ambiguous]
        self.witnesses = [PhraseEval(words, DEFAULT_FIELDS) for words in entity.forms]
        self.key = ("@", entity.id, fields)

    def run(self, doc: Document) -> list[Hit] | None:
        cached = doc.cache.get(self.key)
        if cached is None:
            cached = [hit for form in self.forms for hit in form.hits(doc)]
            if self.ambiguous and (cached or any(w.hits(doc) for w in self.witnesses)):
                covered = {(h.field, i) for h in cached for i in range(h.start, h.end)}
                cached.extend(
                    hit for form in self.ambiguous for hit in form.hits(doc) if (hit.field, hit.start) not in covered
                )
            cached.sort()
            doc.cache[self.key] = cached
        return cached or None


class NearEval(Evaluator):
    """Two positional parts close together in the same field; the hit spans both."""

    __slots__ = ("distance", "left", "ordered", "right")

    def __init__(self, left: Evaluator, right: Evaluator, distance: int | None, ordered: bool) -> None:
        self.left = left
        self.right = right
        self.distance = distance
        self.ordered = ordered

    def run(self, doc: Document) -> list[Hit] | None:
        lefts = self.left.run(doc)
        if not lefts:
            return None
        rights = self.right.run(doc)
        if not rights:
            return None
        hits = []
        for a in lefts:
            for b in rights:
                if a.field == b.field and self._close(a, b, doc):
                    hits.append(Hit(a.field, min(a.start, b.start), max(a.end, b.end), a.words + b.words))
        return hits or None

    def _close(self, a: Hit, b: Hit, doc: Document) -> bool:
        if a.end <= b.start:
            gap = b.start - a.end
        elif not self.ordered and b.end <= a.start:
            gap = a.start - b.end
        else:
            return False
        if self.distance is not None:
            return gap <= self.distance
        sentences = doc.field(a.field).sentences
        return sentences[min(a.start, b.start)] == sentences[max(a.end, b.end) - 1]


class OrEval(Evaluator):
    __slots__ = ("children",)

    def __init__(self, children: list[Evaluator]) -> None:
        self.children = children

    def run(self, doc: Document) -> list[Hit] | None:
        hits: list[Hit] | None = None
        for child in self.children:
            found = child.run(doc)
            if found is not None:
                hits = found if hits is None else hits + found
        return hits


class AndEval(Evaluator):
    __slots__ = ("children",)

    def __init__(self, children: list[Evaluator]) -> None:
        self.children = children

    def run(self, doc: Document) -> list[Hit] | None:
        hits: list[Hit] = []
        for child in self.children:
            found = child.run(doc)
            if found is None:
                return None
            hits = hits + found
        return hits


class NotEval(Evaluator):
    __slots__ = ("child",)

    def __init__(self, child: Evaluator) -> None:
        self.child = child

    def run(self, doc: Document) -> list[Hit] | None:
        return [] if self.child.run(doc) is None else None


class CompiledQuery:
    """A query ready to run: its top-level clauses, each with the text the user wrote."""

    __slots__ = ("clauses", "conjunctive")

    def __init__(self, query: Query, gazetteer: Gazetteer) -> None:
        self.conjunctive = not isinstance(query, Or)
        self.clauses = [(c.source.text, compile_node(c, gazetteer, DEFAULT_FIELDS)) for c in clauses(query)]

    def holds(self, doc: Document) -> bool:
        return self.evaluate(doc) is not None

    def evaluate(self, doc: Document) -> tuple[ClauseHit, ...] | None:
        """None if the query does not hold, else the satisfied clauses with their spans.

        Under a top-level AND every clause is reported (a NOT clause with no spans);
        under a top-level OR only the alternatives that hold.
        """
        results = []
        for text, evaluator in self.clauses:
            hits = evaluator.run(doc)
            if hits is None:
                if self.conjunctive:
                    return None
                continue
            results.append(ClauseHit(text, doc.spans(hits)))
        return tuple(results) or None


def compile_node(node: Query, gazetteer: Gazetteer, fields: tuple[str, ...]) -> Evaluator:
    """The evaluator of one node; raise QueryError for an @entity the gazetteer lacks."""
    if isinstance(node, Phrase):
        return PhraseEval(node.words, fields)
    if isinstance(node, EntityRef):
        entity = gazetteer.get(node.entity_id)
        if entity is None:
            raise QueryError(f"unknown entity @{node.entity_id}", node.source.offset)
        return EntityEval(entity, fields)
    if isinstance(node, Field):
        return compile_node(node.child, gazetteer, _QUERY_FIELDS[node.name])
    if isinstance(node, Near):
        return NearEval(
            compile_node(node.left, gazetteer, fields),
            compile_node(node.right, gazetteer, fields),
            node.distance,
            node.ordered,
        )
    if isinstance(node, Not):
        return NotEval(compile_node(node.child, gazetteer, fields))
    if isinstance(node, And):
        return AndEval([compile_node(c, gazetteer, fields) for c in node.children])
    return OrEval([compile_node(c, gazetteer, fields) for c in node.children])
