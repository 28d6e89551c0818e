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
    """Two positional parts close together (within `distance` words, or in one sentence) in the same field.

    Linear in the hits of its sides whatever the text: each hit is paired only with its nearest partner on
    each side, found by binary search, and of the pairs that start (or end) at the same word only the
    shortest is kept. Whether the NEAR holds is the same as with every pair: an enclosing NEAR still sees,
    for every pair, one with the same start and one with the same end, which is all its distance test looks
    at. A single NEAR marks the same words as every pair would; a chain marks words of matching pairs but,
    where several pairs cover the same words, those of one of them. So `a* NEAR/s a*` over 8,000 words makes
    at most 16,000 hits, not 64 million.
    """

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
        left_groups, right_groups = self._groups(lefts, doc), self._groups(rights, doc)
        pairs: list[Hit] = []
        for key, group in left_groups.items():
            others = right_groups.get(key)
            if others is None:
                continue
            for a, b in _nearest_pairs(group, others, self.distance):
                pairs.append((a[0], a[1], b[2], a[3] + b[3]))
            if not self.ordered:
                for b, a in _nearest_pairs(others, group, self.distance):
                    pairs.append((a[0], b[1], a[2], a[3] + b[3]))
        return _shortest(pairs) or None

    def _groups(self, hits: list[Hit], doc: Document) -> dict[tuple[str, int], list[Hit]]:
        """Hits by field, and for NEAR/s by sentence too (a hit that spans two sentences can never count)."""
        groups: dict[tuple[str, int], list[Hit]] = {}
        for hit in hits:
            if self.distance is None:
                sentences = doc.fields[hit[0]].sentences
                sentence = sentences[hit[1]]
                if sentences[hit[2] - 1] != sentence:
                    continue
                groups.setdefault((hit[0], sentence), []).append(hit)
            else:
                groups.setdefault((hit[0], 0), []).append(hit)
        return groups


def _nearest_pairs(firsts: list[Hit], seconds: list[Hit], distance: int | None) -> list[tuple[Hit, Hit]]:
    """Pairs of a first hit and a second that starts at or after its end, at most `distance` words apart
    (any distance for None): for every first, its nearest second; for every second, its nearest first."""
    by_start = sorted(seconds, key=lambda h: h[1])
    starts = [h[1] for h in by_start]
    by_end = sorted(firsts, key=lambda h: h[2])
    ends = [h[2] for h in by_end]
    pairs = []
    for first in firsts:
        i = bisect_left(starts, first[2])
        if i < len(starts) and (distance is None or starts[i] - first[2] <= distance):
            pairs.append((first, by_start[i]))
    for second in seconds:
        i = bisect_right(ends, second[1]) - 1
        if i >= 0 and (distance is None or second[1] - ends[i] <= distance):
            pairs.append((by_end[i], second))
    return pairs


def _shortest(hits: list[Hit]) -> list[Hit]:
    """Of hits starting at the same word, the shortest; likewise of hits ending at the same word."""
    by_start: dict[tuple[str, int], Hit] = {}
    by_end: dict[tuple[str, int], Hit] = {}
    for hit in hits:
        field, start, end, _ = hit
        kept = by_start.get((field, start))
        if kept is None or end < kept[2]:
            by_start[(field, start)] = hit
        kept = by_end.get((field, end))
        if kept is None or start > kept[1]:
            by_end[(field, end)] = hit
    return list({id(hit): hit for hit in [*by_start.values(), *by_end.values()]}.values())


class OrEval(Evaluator):
    __slots__ = ("children",)

    def __init__(self, children: list[Evaluator]) -> None:
        self.children = children

    def run(self, doc: Document) -> list[Hit] | None:
        hits: list[Hit] | None = None
        for child in self.children:
            found = child.run(doc)
            if found is not None:
                if hits is None:
                    hits = []
                hits.extend(found)
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
            hits.extend(found)
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
