"""Evaluating a query against an entry: matched or not, and which words made it match.

A query is compiled once into a tree of small evaluators; an entry is analysed once into a
Document that every rule then shares (words, positions and per-document caches).
Each evaluator's `run` returns None when its part of the query does not hold, else the list of
positional hits that satisfied it (empty for NOT, which holds by absence and marks nothing).
Unfielded terms search the title and the body; positions never cross from one field to another.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable

from bot.match.entities import Gazetteer
from bot.match.query import And, EntityRef, Field, Near, Not, Or, Phrase, Query, QueryError, clauses
from bot.match.text import FieldText, WordPattern, analyze
from bot.model import ClauseHit, Entry, Span

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
_QUERY_FIELDS = {"title": ("title",), "source": ("source",), "url": ("url",), "lang": ("lang",)}


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


class PhraseEval(Evaluator):
    """Consecutive word patterns in any of the given fields; its hits are cached per document."""

    __slots__ = ("fields", "first", "rest", "size", "word")

    def __init__(self, words: tuple[str, ...], fields: tuple[str, ...]) -> None:
        self.first = WordPattern(words[0])
        self.rest = [WordPattern(w) for w in words[1:]]
        self.size = len(words)
        self.fields = fields
        self.word = words[0] if len(words) == 1 and self.first.kind == WordPattern.EXACT else None

    def run(self, doc: Document) -> list[Hit] | None:
        return self.hits(doc) or None

    def hits(self, doc: Document) -> list[Hit]:
        cached = doc.cache.get(self)
        if cached is not None:
            return cached
        cached = []
        fields = doc.fields
        word = self.word
        for name in self.fields:
            text = fields[name]
            if word is not None:
                positions = text.index.get(word)
                if positions:
                    cached += [(name, i, i + 1, ((i, i + 1),)) for i in positions]
                continue
            starts = self.first.positions(text)
            if not starts:
                continue
            if not self.rest:
                cached += [(name, i, i + 1, ((i, i + 1),)) for i in starts]
                continue
            size = self.size
            words = text.words
            limit = len(words) - size
            for i in starts:
                if i <= limit and all(p.matches(words[i + k]) for k, p in enumerate(self.rest, 1)):
                    cached.append((name, i, i + size, ((i, i + size),)))
        doc.cache[self] = cached
        return cached


class EntityEval(Evaluator):
    """Any name of an entity; its ambiguous forms count only if a full name occurs in the entry."""

    __slots__ = ("ambiguous", "forms", "witnesses")

    def __init__(self, forms: list[PhraseEval], ambiguous: list[PhraseEval], witnesses: list[PhraseEval]) -> None:
        self.forms = forms
        self.ambiguous = ambiguous
        self.witnesses = witnesses

    def run(self, doc: Document) -> list[Hit] | None:
        cached = doc.cache.get(self)
        if cached is None:
            cached = [hit for form in self.forms for hit in form.hits(doc)]
            if self.ambiguous and (cached or any(w.hits(doc) for w in self.witnesses)):
                covered = {(name, i) for name, start, end, _ in cached for i in range(start, end)}
                cached.extend(
                    hit for form in self.ambiguous for hit in form.hits(doc) if (hit[0], hit[1]) not in covered
                )
            cached.sort()
            doc.cache[self] = cached
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
        if self.distance is None:
            return self._same_sentence(lefts, rights, doc)
        distance, ordered = self.distance, self.ordered
        rights = sorted(rights)
        keys = [(name, start) for name, start, _, _ in rights]
        longest = max(end - start for _, start, end, _ in rights)
        hits = []
        for a_field, a_start, a_end, a_words in lefts:
            lo = bisect_left(keys, (a_field, a_start - distance - longest))
            hi = bisect_right(keys, (a_field, a_end + distance))
            for _, b_start, b_end, b_words in rights[lo:hi]:
                if a_end <= b_start:
                    gap = b_start - a_end
                elif not ordered and b_end <= a_start:
                    gap = a_start - b_end
                else:
                    continue
                if gap <= distance:
                    hits.append((a_field, min(a_start, b_start), max(a_end, b_end), a_words + b_words))
        return hits or None

    def _same_sentence(self, lefts: list[Hit], rights: list[Hit], doc: Document) -> list[Hit] | None:
        hits = []
        for a_field, a_start, a_end, a_words in lefts:
            sentences = doc.fields[a_field].sentences
            for b_field, b_start, b_end, b_words in rights:
                if a_field != b_field or not (a_end <= b_start or (not self.ordered and b_end <= a_start)):
                    continue
                start, end = min(a_start, b_start), max(a_end, b_end)
                if sentences[start] == sentences[end - 1]:
                    hits.append((a_field, start, end, a_words + b_words))
        return hits or None


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

    def __init__(self, clauses: list[tuple[str, Evaluator]], conjunctive: bool) -> None:
        self.clauses = clauses
        self.conjunctive = conjunctive

    def holds(self, doc: Document) -> bool:
        """Whether the query holds, without working out spans."""
        runs = (evaluator.run(doc) is not None for _, evaluator in self.clauses)
        return all(runs) if self.conjunctive else any(runs)

    def evaluate(self, doc: Document) -> tuple[ClauseHit, ...] | None:
        """None if the query does not hold, else the satisfied clauses with their spans.

        Under a top-level AND every clause is reported (a NOT clause with no spans);
        under a top-level OR only the alternatives that hold.
        """
        held = []
        for text, evaluator in self.clauses:
            hits = evaluator.run(doc)
            if hits is not None:
                held.append((text, hits))
            elif self.conjunctive:
                return None
        if not held:
            return None
        return tuple(ClauseHit(text, doc.spans(hits)) for text, hits in held)


class Compiler:
    """Compiles queries against a gazetteer, sharing one evaluator per distinct word, phrase or entity
    (and fields) across all of them, so a document works out each one's hits once for all rules."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer
        self._phrases: dict[tuple[tuple[str, ...], tuple[str, ...]], PhraseEval] = {}
        self._entities: dict[tuple[str, tuple[str, ...]], EntityEval] = {}

    def compile(self, query: Query) -> CompiledQuery:
        """Raise QueryError for an @entity the gazetteer lacks."""
        parts = [(c.source.text, self.node(c, DEFAULT_FIELDS)) for c in clauses(query)]
        return CompiledQuery(parts, conjunctive=not isinstance(query, Or))

    def node(self, node: Query, fields: tuple[str, ...]) -> Evaluator:
        if isinstance(node, Phrase):
            return self.phrase(node.words, fields)
        if isinstance(node, EntityRef):
            return self.entity(node, fields)
        if isinstance(node, Field):
            return self.node(node.child, _QUERY_FIELDS[node.name])
        if isinstance(node, Near):
            return NearEval(self.node(node.left, fields), self.node(node.right, fields), node.distance, node.ordered)
        if isinstance(node, Not):
            return NotEval(self.node(node.child, fields))
        if isinstance(node, And):
            return AndEval([self.node(c, fields) for c in node.children])
        return OrEval([self.node(c, fields) for c in node.children])

    def phrase(self, words: tuple[str, ...], fields: tuple[str, ...]) -> PhraseEval:
        shared = self._phrases.get((words, fields))
        if shared is None:
            shared = self._phrases[(words, fields)] = PhraseEval(words, fields)
        return shared

    def entity(self, node: EntityRef, fields: tuple[str, ...]) -> EntityEval:
        shared = self._entities.get((node.entity_id, fields))
        if shared is None:
            entity = self.gazetteer.get(node.entity_id)
            if entity is None:
                raise QueryError(f"unknown entity @{node.entity_id}", node.source.offset, node.source.query)
            shared = self._entities[(node.entity_id, fields)] = EntityEval(
                [self.phrase(words, fields) for words in entity.forms],
                [self.phrase(words, fields) for words in entity.ambiguous],
                [self.phrase(words, DEFAULT_FIELDS) for words in entity.forms],
            )
        return shared


def compile_query(query: Query, gazetteer: Gazetteer) -> CompiledQuery:
    """One query on its own (rule examples, tests); a Matcher shares a Compiler across its rules."""
    return Compiler(gazetteer).compile(query)
