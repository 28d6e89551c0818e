"""Evaluating a query against an entry: matched or not, and which words made it match.

A query is compiled once into a tree of small evaluators; an entry is analysed once into a
Document that every rule then shares (words, positions and per-document caches).
Each evaluator's `run` returns None when its part of the query does not hold, else the list of
positional hits that satisfied it (empty for NOT, which holds by absence and marks nothing).
Unfielded terms search the title and the body; positions never cross from one field to another.
"""

from __future__ import annotations

from bot.match.document import DEFAULT_FIELDS, QUERY_FIELDS, Document, Evaluator, Hit
from bot.match.entities import Gazetteer
from bot.match.near import NearEval
from bot.match.query import And, EntityRef, Field, Near, Not, Or, Phrase, Query, QueryError, clauses
from bot.match.text import WordPattern
from bot.model import ClauseHit


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
            return self.node(node.child, QUERY_FIELDS[node.name])
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
