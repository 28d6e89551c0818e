"""Stories: rewrites and independent reports of one event, grouped as entries arrive.

A new entry joins the story of an earlier entry when it copies it (see copies.py), or when it is close
to the story's centroid: TF-IDF cosine over title and lead terms, the names in the lead and the
caller's entity ids, among entries within the time window. Otherwise it opens a story of its own, whose
id is the new entry's id, so story ids need no counter and survive a restart. Comparing with the
centroid rather than the closest member keeps stories from chaining: on a real snapshot of 1,180 feed
items, closest-member linkage grew a 46-item "Trump" story out of unrelated reports; the centroid did not.

The index keeps only what the window needs; at startup the pipeline replays the window's entries with
their stored story ids (`add(..., story_id=...)`), which restores the index without re-deciding anything.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bench.reference.copies import CopyIndex
from bot.model import Entry
from bot.stories.terms import names, terms

Embedder = Callable[[Sequence[str]], Sequence[Sequence[float]]]
"""Maps texts to unit-length vectors (e.g. embeddings.load_minilm()); optional."""


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """How close an entry must be to a story to join it.

    Closeness is the TF-IDF cosine between the entry and the story's centroid, over title and lead
    terms, the names in the lead (`name_weight`) and the caller's entity ids (`entity_weight`); with an
    embedder it is blended with the embedding cosine (`embedding_weight`).
    """

    window: timedelta = timedelta(hours=48)
    threshold: float = 0.27
    name_weight: float = 1.5
    entity_weight: float = 1.0
    embedding_weight: float = 0.5
    title_repeat: int = 2
    lead_words: int = 80
    copy_threshold: float = 0.8


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where an entry went: its story, whether it opened it, and the article it copies if any."""

    entry_id: int
    story_id: int
    new_story: bool
    copy_of: int | None = None
    similarity: float = 0.0


@dataclass(slots=True)
class _Doc:
    entry_id: int
    story_id: int
    time: datetime | None
    tf: dict[str, float]
    vector: tuple[float, ...] | None = None


@dataclass(slots=True)
class _Stats:
    """Document frequencies over the documents in the window, for IDF."""

    docs: int = 0
    df: Counter[str] = field(default_factory=Counter)

    def idf(self, term: str) -> float:
        return math.log((1 + self.docs) / (1 + self.df[term])) + 1.0


def lead_text(entry: Entry, lead_words: int) -> str:
    """The first words of the body: where a news report says what happened."""
    return " ".join(entry.body.split()[:lead_words])


def _term_weights(entry: Entry, entities: Collection[str], config: ClusterConfig) -> dict[str, float]:
    """Sublinear counts of title and lead terms, plus the names in the lead and the caller's entity ids.

    Names and entities are features of their own ("@kalla", "#kaja-kallas") so that IDF weighs them like
    words: sharing "Trump" says little, sharing "Kallas" and "Riigikogu" says much.
    """
    lead = lead_text(entry, config.lead_words)
    title = terms(entry.title, entry.language)
    counts = Counter(title * config.title_repeat + terms(lead, entry.language))
    weights = {term: 1.0 + math.log(n) for term, n in counts.items()}
    for name in names(lead or entry.title):
        weights["@" + name] = config.name_weight
    for entity in entities:
        weights["#" + entity] = config.entity_weight
    return weights


def _dot(a: dict[str, float], b: dict[str, float]) -> float:
    return sum(w * b.get(t, 0.0) for t, w in a.items())


def _cosine_vectors(a: Sequence[float], b: Sequence[float]) -> float:
    return max(0.0, sum(x * y for x, y in zip(a, b, strict=True)))


class StoryIndex:
    """Stories of the entries seen in the last `config.window`, updated one entry at a time."""

    def __init__(self, config: ClusterConfig | None = None, embedder: Embedder | None = None) -> None:
        self.config = config or ClusterConfig()
        self.embedder = embedder
        self._docs: dict[int, _Doc] = {}
        self._postings: dict[str, set[int]] = {}
        self._stats = _Stats()
        self._stories: dict[int, set[int]] = {}
        self._copies = CopyIndex(threshold=self.config.copy_threshold)

    def add(
        self,
        entry_id: int,
        entry: Entry,
        entities: Collection[str] = (),
        *,
        at: datetime | None = None,
        story_id: int | None = None,
    ) -> Assignment:
        """File an entry under a story and return where it went.

        `entities` are the gazetteer ids found in the entry; `at` is when it was seen, used when the
        feed gave no publication time; `story_id` restores a stored assignment instead of deciding one.
        """
        if entry_id in self._docs:
            raise ValueError(f"entry {entry_id} is already in the story index")
        doc = _Doc(
            entry_id=entry_id,
            story_id=entry_id,
            time=entry.published or at,
            tf=_term_weights(entry, entities, self.config),
        )
        if self.embedder is not None:
            text = f"{entry.title}. {lead_text(entry, self.config.lead_words)}"
            doc.vector = tuple(self.embedder([text])[0])
        copy = self._copies.add(entry_id, entry.url, entry.body or entry.title)
        copy_of = copy.original if copy and copy.original in self._docs else None
        if story_id is not None:
            assignment = Assignment(
                entry_id,
                story_id,
                story_id == entry_id and story_id not in self._stories,
                copy_of,
                copy.similarity if copy else 0.0,
            )
        elif copy_of is not None and copy is not None:
            assignment = Assignment(entry_id, self._docs[copy_of].story_id, False, copy_of, copy.similarity)
        else:
            assignment = self._decide(doc)
        doc.story_id = assignment.story_id
        self._store(doc)
        return assignment

    def _decide(self, doc: _Doc) -> Assignment:
        best_story, best_score = None, 0.0
        for story_id, score in self._story_scores(doc).items():
            if score > best_score:
                best_story, best_score = story_id, score
        if best_story is not None and best_score >= self.config.threshold:
            return Assignment(doc.entry_id, best_story, False, None, best_score)
        return Assignment(doc.entry_id, doc.entry_id, True, None, best_score)

    def _candidates(self, doc: _Doc) -> set[int]:
        found: set[int] = set()
        if doc.vector is not None:  # embeddings can relate texts that share no word
            vector = doc.vector
            found = {
                other.entry_id
                for other in self._docs.values()
                if other.vector is not None and _cosine_vectors(vector, other.vector) >= self.config.threshold
            }
        for term in doc.tf:
            found |= self._postings.get(term, set())
        return {other for other in found if self._within_window(doc.time, self._docs[other].time)}

    def _within_window(self, a: datetime | None, b: datetime | None) -> bool:
        """Undated entries are compared with everything: the feed gave no reason to keep them apart."""
        return a is None or b is None or abs(a - b) <= self.config.window

    def _story_scores(self, doc: _Doc) -> dict[int, float]:
        vector = self._unit(doc)
        stories = {self._docs[other].story_id for other in self._candidates(doc)}
        scores: dict[int, float] = {}
        for story_id in stories:
            members = [self._docs[m] for m in self._stories[story_id]]
            centroid: dict[str, float] = {}
            for member in members:
                for term, weight in self._unit(member).items():
                    centroid[term] = centroid.get(term, 0.0) + weight
            norm = math.sqrt(sum(w * w for w in centroid.values())) or 1.0
            scores[story_id] = self._blend(_dot(vector, centroid) / norm, doc, members)
        return scores

    def _unit(self, doc: _Doc) -> dict[str, float]:
        """The document's TF-IDF vector under the current document frequencies, scaled to length 1."""
        vector = {term: w * self._stats.idf(term) for term, w in doc.tf.items()}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return {term: v / norm for term, v in vector.items()}

    def _blend(self, lexical: float, doc: _Doc, members: list[_Doc]) -> float:
        vectors = [m.vector for m in members if m.vector is not None]
        if doc.vector is None or not vectors:
            return lexical
        semantic = max(_cosine_vectors(doc.vector, v) for v in vectors)
        return (1 - self.config.embedding_weight) * lexical + self.config.embedding_weight * semantic

    def _store(self, doc: _Doc) -> None:
        self._docs[doc.entry_id] = doc
        self._stories.setdefault(doc.story_id, set()).add(doc.entry_id)
        self._stats.docs += 1
        for term in doc.tf:
            self._stats.df[term] += 1
            self._postings.setdefault(term, set()).add(doc.entry_id)

    def forget(self, entry_id: int) -> None:
        """Drop one entry from the index (it left the window, or was deleted)."""
        doc = self._docs.pop(entry_id)
        members = self._stories[doc.story_id]
        members.discard(entry_id)
        if not members:
            del self._stories[doc.story_id]
        self._stats.docs -= 1
        for term in doc.tf:
            self._stats.df[term] -= 1
            postings = self._postings[term]
            postings.discard(entry_id)
            if not postings:
                del self._postings[term]
                del self._stats.df[term]
        self._copies.remove(entry_id)

    def prune(self, now: datetime) -> list[int]:
        """Forget entries older than the window before `now`; returns their ids."""
        cutoff = now - self.config.window
        old = [d.entry_id for d in self._docs.values() if d.time is not None and d.time < cutoff]
        for entry_id in old:
            self.forget(entry_id)
        return old

    def story_of(self, entry_id: int) -> int | None:
        """The story id of an entry still in the index."""
        doc = self._docs.get(entry_id)
        return doc.story_id if doc else None

    def members(self, story_id: int) -> tuple[int, ...]:
        """Ids of the story's entries still in the index, lowest (oldest) first."""
        return tuple(sorted(self._stories.get(story_id, ())))

    def __len__(self) -> int:
        return len(self._docs)
