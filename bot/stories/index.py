"""Stories: rewrites and independent reports of one event, grouped as entries arrive, at a flat cost per entry.

A new entry joins a story when it copies one of its articles (copies.py) or when it is close to the
story's centroid: the cosine between the entry's feature vector (features.py) and the sum of its members'
vectors. Centroids are kept as running sums, updated when a member joins or leaves, never rebuilt.

The cost of filing an entry does not grow with the window:
- candidates come from the entry's most distinctive features (`distinctive`, highest weight first) and its
  names and entities, and for each from the `postings_scan` most recent entries that share it;
- at most `candidates` stories are scored exactly.

Decisions, for the stories whose score reaches `threshold` (best first):
- none: the entry opens a story of its own, whose id is the entry's id;
- the best, together with every other one close to the best story (centroid cosine >= `merge_threshold`):
  they tell one event, so they merge into the oldest (lowest id) and the entry joins it. A story is not
  fixed by its first entries: stories that converge as reports arrive become one;
- the best, when a story unlike it (centroid cosine < `rival_threshold`: another event altogether) also
  scores: only if the best wins by `margin`. Otherwise the entry is close to two different events (a
  roundup, a live blog, a newsletter) and opens a closed story of its own, which nothing joins and which
  merges with nothing, so it never bridges them. Stories in between (related, not alike) do not count.

The settings were chosen on the labelled development set of the real 24-outlet snapshot together with
the hand-written sets of tests/stories/testdata (bench/stories.py has the figures).

With the meaning signal (`ClusterConfig.meaning`, vectors from meaning.py), an entry that carries a vector
is also compared with the stories its meaning is nearest to (the `meaning_neighbours` nearest of the last
`meaning_scan` vectors, each at least `meaning_floor`): where decision.py finds one of them to be its
event, the entry joins it (its words found none) or its story and that one merge. Meaning only adds joins;
words alone decide as before for entries without a vector. Where the entry and a story's nearest report are
in different languages, the meaning compared is that of longer texts (meaning.ACROSS_CHARS): the texts of the
last `meaning_scan` entries with a meaning text are kept for it (and kept again after a restart, `keep_texts`),
and the likely ones are embedded ahead with the rest (`embed_ahead`).

Story ids need no counter and survive a restart; at start-up the window is restored with the stored
features and story ids (`restore`), without deciding anything again.
"""

from __future__ import annotations

import heapq
from array import array
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from time import perf_counter
from typing import TypeVar

from bot.model import Entry
from bot.stories import decision
from bot.stories.centroids import Merged, Stories, StorySum, dot
from bot.stories.copies import CopyIndex
from bot.stories.decision import Evidence, may_join, same_event
from bot.stories.features import FeatureConfig, Observed, StoryFeatures, observe, weigh
from bot.stories.vectors import RecentVectors
from bot.stories.weights import idf, weights_for

_T = TypeVar("_T")

Embedder = Callable[[Sequence[str]], Sequence[Sequence[float]]]
"""Maps texts to unit-length vectors: the meaning model (meaning.load_e5()); optional."""


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """How close an entry must be to a story to join it, and how much work one entry may cost."""

    window: timedelta = timedelta(hours=48)
    threshold: float = 0.35
    merge_threshold: float = 0.4
    margin: float = 0.1
    copy_threshold: float = 0.8
    distinctive: int = 10
    postings_scan: int = 32
    candidates: int = 20
    rival_threshold: float = 0.1
    meaning: bool = False
    meaning_scan: int = 4096
    meaning_neighbours: int = 8
    meaning_floor: float = 0.8
    meaning_near: int = 3
    features: FeatureConfig = field(default_factory=FeatureConfig)


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where an entry went: its story, whether it opened it, the article it copies if any, and the
    stories that merged into its story when it joined (their members now belong to `story_id`)."""

    entry_id: int
    story_id: int
    new_story: bool
    copy_of: int | None = None
    similarity: float = 0.0
    merged: tuple[int, ...] = ()
    features: StoryFeatures | None = None
    closed: bool = False
    evidence: Evidence | None = None
    """What the entry shares with the story it joined (None: it copies an article, or opened the story)."""
    meaning_kept: bool = False
    """The index kept the entry's meaning texts (it may alert and opened a story): the store records it, so
    that after a restart `keep_texts` keeps them again."""

    @property
    def reason(self) -> str:
        """What joined the entry to its story, in words ("" when it opened the story)."""
        if self.copy_of is not None:
            return f"a copy of an earlier report (similarity {self.similarity:.2f})"
        if self.evidence is not None:
            return self.evidence.said()
        return ""


@dataclass(frozen=True, slots=True)
class _Held:
    """Undo record: an entry was filed."""

    entry_id: int


class StoryIndex:
    """Stories of the entries seen in the last `config.window`, updated one entry at a time."""

    def __init__(self, config: ClusterConfig | None = None, embedder: Embedder | None = None) -> None:
        self.config = config or ClusterConfig()
        self.embedder = embedder
        features = self.config.features
        self._features = replace(features, country_weight=features.name_weight) if self.config.meaning else features
        """What entries are read with: with the meaning signal, countries named in a headline are names."""
        self._sums = Stories()
        self._members = self._sums.members
        self._postings: dict[str, array[int]] = {}
        self._frequency: dict[str, int] = {}
        self._copies = CopyIndex(threshold=self.config.copy_threshold)
        self._meanings = RecentVectors(self.config.meaning_scan) if self.config.meaning else None
        self._unread: dict[int, str] = {}
        """The meaning texts of the last `meaning_scan` entries that opened a story and were not embedded:
        embedded when a later entry nearly joins their story."""
        self._across: dict[int, str] = {}
        """The longer texts of the last `meaning_scan` entries with a meaning text, for comparisons across
        languages ("": the meaning text says it all)."""
        self._across_vectors: dict[int, array[float]] = {}
        """Their vectors, once a comparison across languages needed them."""
        self._ready: dict[str, array[float]] = {}
        """Vectors embedded ahead of filing (`embed_ahead`), by text, until the batch is committed or rolled back."""
        self.meaning_seconds = 0.0
        """Time spent embedding, for the ingest's stage metric."""
        self._undo: list[_Held | Merged] | None = None

    # --- batches ---------------------------------------------------------------------------------------

    def begin(self) -> None:
        """Start recording what filing does, so that `rollback` can take it back (the store's transaction
        failed: memory must not run ahead of the store)."""
        self._undo = []

    def commit(self) -> None:
        self._undo = None
        self._ready.clear()

    def rollback(self) -> None:
        """Take back every entry filed and every merge made since `begin`, newest first."""
        undo, self._undo = self._undo or [], None
        self._ready.clear()
        for record in reversed(undo):
            if isinstance(record, _Held):
                self.forget(record.entry_id)
            else:
                self._sums.split(record)

    def embed_ahead(self, batch: Sequence[tuple[Observed, datetime]]) -> None:
        """Embed, all at once, the meaning texts that filing `batch` is likely to embed one by one: the embedder
        spreads them over the cores, and the caller runs this before the store's transaction, which then does
        not wait on the model. Decisions do not change: filing takes a vector from here, else embeds it then."""
        if self._meanings is None or self.embedder is None:
            return
        texts, embedded = self._likely_texts(batch)
        if texts:
            self._ready.update(zip(texts, self._embed(texts), strict=True))
        across = self._likely_across(embedded)
        if across:
            self._ready.update(zip(across, self._embed(across), strict=True))

    def _likely_texts(
        self, batch: Sequence[tuple[Observed, datetime]]
    ) -> tuple[list[str], list[tuple[Observed, StoryFeatures, float]]]:
        """The texts filing `batch` will likely embed. index.file embeds an entry that opens a story by its words
        and nearly joins another (`_near_misses`), with the first report of each story it nearly joins if that
        has no vector yet. So: each entry of the batch that opens a story by its words (it joins none of the
        window's, nor an earlier entry's of the batch) and nearly joins one of the window's or shares a name or
        an entity with an earlier entry of the batch, with the first unread report of those stories; and those
        entries (as read, weighed, and when). Read only: the window is not changed."""
        texts: dict[str, None] = {}
        embedded = []
        earlier: dict[str, list[tuple[StoryFeatures, str]]] = {}
        """The batch's entries so far by name and entity: features, and the text of their story's first report."""
        for observed, when in batch:
            features = self._weigh(observed)
            names = [term for term in features.terms if term[0] in "@#"]
            before = {id(other): (other, text) for term in names for other, text in earlier.get(term, ())}
            first = ""
            if observed.meaning_text:  # the others are not embedded: their stories need not be guessed
                scored = self._scored(features, when.timestamp(), self._candidate_entries(features))
                joined = self._joined(features, scored, list(before.values()))
                first = observed.meaning_text if joined is None else joined
                near = self._near_misses(features, scored) if joined is None else []
                if joined is None and (near or before):
                    texts[observed.meaning_text] = None
                    embedded.append((observed, features, when.timestamp()))
                    texts.update((text, None) for _, text in before.values() if text)
                for story_id in near:
                    if (unread := self._first_unread(story_id)) is not None:
                        texts[self._unread[unread]] = None
            for term in names:
                earlier.setdefault(term, []).append((features, first))
        return list(texts), embedded

    def _likely_across(self, embedded: list[tuple[Observed, StoryFeatures, float]]) -> list[str]:
        """The longer texts filing will likely embed to compare the entries `embedded` (their meaning vectors are
        ready) with stories in other languages (`meaning_candidates`): the window's nearest in meaning, and the
        earlier of them in the batch that share a name or an entity and are near in meaning. Read only."""
        texts: dict[str, None] = {}
        earlier: dict[str, list[tuple[Observed, StoryFeatures, array[float]]]] = {}
        for observed, features, time in embedded:
            vector = self._ready.get(observed.meaning_text)
            if vector is None:
                continue
            window = self._across_window(features, time, vector)
            pairs = [(observed.across_text, self._across.get(other)) for other in window]
            names = [term for term in features.terms if term[0] in "@#"]
            for before, known, near in {id(o): o for term in names for o in earlier.get(term, ())}.values():
                if _differ(known.language, features.language) and _cosine(vector, near) >= self.config.meaning_floor:
                    pairs.append((observed.across_text, before.across_text))
            texts.update((text, None) for pair in pairs for text in pair if text)
            for term in names:
                earlier.setdefault(term, []).append((observed, features, vector))
        return list(texts)

    def _across_window(self, features: StoryFeatures, time: float, vector: array[float]) -> list[int]:
        """The window's entries nearest in meaning to an entry, in another language, that filing would compare
        with it on their longer texts, if they have no such vector yet."""
        found = []
        for _, story, other, cosine in self._nearest_stories(vector, time, ()):
            language = self._members[other].features.language
            if not _differ(language, features.language) or other in self._across_vectors:
                continue
            if may_join(self.evidence(features, time, story, cosine, language)):
                found.append(other)
        return found

    def _joined(
        self, features: StoryFeatures, scored: list[tuple[float, int]], before: list[tuple[StoryFeatures, str]]
    ) -> str | None:
        """None if an entry likely opens a story; else the text of the first unread report of the story it likely
        joins by its words ("" if none): one of the window's (`scored`), or an earlier entry's of the batch."""
        if scored and scored[0][0] >= self.config.threshold:
            unread = self._first_unread(scored[0][1])
            return self._unread[unread] if unread is not None else ""
        weights = features.weight_map()
        return next((text for other, text in before if dot(other, weights) >= self.config.threshold), None)

    def _first_unread(self, story_id: int) -> int | None:
        """The story's first member whose text is kept unread, if the story has no meaning vector yet."""
        members = self._sums.stories[story_id].members
        if any(self._members[m].features.vector is not None for m in members):
            return None
        return next((m for m in members if m in self._unread), None)

    # --- entry points ---------------------------------------------------------------------------------

    def observe(self, entry: Entry, entities: Collection[str] = (), *, embed: bool = True) -> Observed:
        """Read an entry for filing; pure, so callers run it before taking the lock that `file` needs. With
        the meaning signal and `embed`, it keeps the text `file` embeds if the entry's words open a story."""
        if self.config.meaning and embed:
            text, across = _meaning_texts(entry)
            return observe(entry, entities, self._features, meaning_text=text, across_text=across)
        return observe(entry, entities, self._features)

    def add(
        self, entry_id: int, entry: Entry, entities: Collection[str] = (), *, at: datetime | None = None
    ) -> Assignment:
        """File an entry under a story and return where it went; `at` is when it was seen, used when the
        feed gave no publication time."""
        when = entry.published or at
        if when is None:
            raise ValueError(f"entry {entry_id} has neither a publication time nor a time it was seen")
        return self.file(entry_id, entry.url, self.observe(entry, entities), when)

    def file(self, entry_id: int, url: str, observed: Observed, when: datetime) -> Assignment:
        """File an entry read by `observe`: weigh its features against the window, then decide."""
        if entry_id in self._members:
            raise ValueError(f"entry {entry_id} is already in the story index")
        time = when.timestamp()
        features = self._weigh(observed)
        found = self._candidate_entries(features)
        copy = self._copies.find(url, features, self._copy_candidates(features, found))
        kept = False
        if copy is not None and copy.original in self._members:
            story = self._members[copy.original].story
            assignment = Assignment(entry_id, story, False, copy.original, copy.similarity)
        else:
            assignment = self._decide(entry_id, features, time, found)
            if observed.meaning_text and assignment.new_story and not assignment.closed:
                near = self._near_misses(features, self._scored(features, time, found))
                kept = self._meanings is not None
                if kept:
                    _keep(self._across, entry_id, observed.across_text, self.config.meaning_scan)
                if near:
                    self._understand_stories(near)
                    features = self._understood(features, observed.meaning_text)
                    assignment = self._by_meaning(assignment, features, time)
                elif self._meanings is not None:
                    _keep(self._unread, entry_id, observed.meaning_text, self.config.meaning_scan)
        story_id = assignment.story_id
        if assignment.merged:
            story_id, undo = self._sums.merge([story_id, *assignment.merged])
            if self._undo is not None:
                self._undo.extend(undo)
        self._hold(entry_id, url, features, time, story_id, assignment.closed)
        if self._undo is not None:
            self._undo.append(_Held(entry_id))
        others = tuple(sorted({assignment.story_id, *assignment.merged} - {story_id}))
        evidence = assignment.evidence
        if evidence is not None:  # Why? shows the names as the entry writes them, not their keys
            evidence = replace(evidence, names=tuple(observed.written.get(key, key) for key in evidence.names))
        return replace(
            assignment, story_id=story_id, merged=others, features=features, meaning_kept=kept, evidence=evidence
        )

    def _weigh(self, observed: Observed) -> StoryFeatures:
        language = weights_for(observed.language)
        documents, frequency = len(self._members), self._frequency

        def weight(feature: str) -> float:
            return idf(documents, frequency.get(feature, 0), language.share(feature))

        return weigh(observed, weight, self.config.features.max_features)

    def restore(
        self, entry_id: int, url: str, features: StoryFeatures, when: datetime, story_id: int, *, closed: bool = False
    ) -> None:
        """Put back an entry filed before (at start-up), under the story it was filed in; `closed` when it
        opened a closed story."""
        if entry_id in self._members:
            raise ValueError(f"entry {entry_id} is already in the story index")
        self._hold(entry_id, url, features, when.timestamp(), story_id, closed)

    def restore_read(
        self,
        entry_id: int,
        url: str,
        observed: Observed,
        when: datetime,
        story_id: int,
        *,
        closed: bool = False,
        vector: array[float] | None = None,
    ) -> StoryFeatures:
        """`restore` an entry whose stored features are of an older format, read again by `observe`: its
        features weighed against the window restored so far, its meaning `vector` kept. Returns them (for the
        store)."""
        features = replace(self._weigh(observed), vector=vector)
        self.restore(entry_id, url, features, when, story_id, closed=closed)
        return features

    def keep_texts(self, entry_id: int, entry: Entry) -> None:
        """Keep again, after a restart, the meaning texts of a restored entry that `file` kept them for
        (Assignment.meaning_kept; call in the order they were filed): the story it opened is still read in
        meaning when a report nearly joins it, and compared on its longer text across languages."""
        member = self._members.get(entry_id)
        if self._meanings is None or member is None:
            return
        text, across = _meaning_texts(entry)
        _keep(self._across, entry_id, across, self.config.meaning_scan)
        if member.features.vector is None:
            _keep(self._unread, entry_id, text, self.config.meaning_scan)

    # --- candidates and scores ------------------------------------------------------------------------

    def _candidate_entries(self, features: StoryFeatures) -> dict[int, float]:
        """Entries sharing the entry's most distinctive features or one of its names and entities (the
        `postings_scan` most recent for each), with the summed weight they share. Entries that left the window
        may be among them: readers skip those."""
        found: dict[int, float] = {}
        scan = self.config.postings_scan
        get = found.get
        for term, weight in _searched(features, self.config.distinctive):
            posting = self._postings.get(term)
            if posting is not None:
                for other in posting[-scan:]:
                    found[other] = get(other, 0.0) + weight
        return found

    def _copy_candidates(self, features: StoryFeatures, found: dict[int, float]) -> list[int]:
        """The entries that share most of this one's distinctive weight: only those can be copies."""
        least = 0.5 * sum(features.weights[: self.config.distinctive])
        close = [(shared, other) for other, shared in found.items() if shared >= least and other in self._members]
        return [other for _, other in heapq.nlargest(8, close, key=lambda item: (item[0], -item[1]))]

    def _within(self, time: float, story: StorySum) -> bool:
        window = self.config.window.total_seconds()
        return story.start - window <= time <= story.end + window

    def _scored(self, features: StoryFeatures, time: float, found: dict[int, float]) -> list[tuple[float, int]]:
        """(score, story) for the most promising candidate stories within the window, best first."""
        prelim: dict[int, float] = {}
        members = self._members
        for other, shared in found.items():
            member = members.get(other)
            if member is not None and shared > prelim.get(member.story, -1.0):
                prelim[member.story] = shared
        ranked = heapq.nlargest(2 * self.config.candidates, prelim.items(), key=lambda item: (item[1], -item[0]))
        scored = []
        for story_id, _ in ranked:
            story = self._sums.stories[story_id]
            if not story.closed and self._within(time, story):
                scored.append((self._sums.cosine(features, story), story_id))
                if len(scored) >= self.config.candidates:
                    break
        return sorted(scored, key=lambda item: (-item[0], item[1]))

    def _decide(self, entry_id: int, features: StoryFeatures, time: float, found: dict[int, float]) -> Assignment:
        scored = self._scored(features, time, found)
        above = [(score, story) for score, story in scored if score >= self.config.threshold]
        if not above:
            best_score = scored[0][0] if scored else 0.0
            return Assignment(entry_id, entry_id, True, None, best_score)
        best_score, best = above[0]
        likeness = {story: self._sums.similarity(best, story) for _, story in above[1:]}
        same = [story for _, story in above[1:] if likeness[story] >= self.config.merge_threshold]
        rivals = [score for score, story in above[1:] if likeness[story] < self.config.rival_threshold]
        if rivals and best_score - rivals[0] < self.config.margin:
            return Assignment(entry_id, entry_id, True, None, best_score, closed=True)
        evidence = self.evidence(features, time, self._sums.stories[best], None)
        return Assignment(entry_id, best, False, None, best_score, tuple(same), evidence=evidence)

    def _near_misses(self, features: StoryFeatures, scored: list[tuple[float, int]]) -> list[int]:
        """The stories the entry's words nearly joined: those that share a name or an entity with it, or
        `decision.WORDS_ALONE` of its words. Only with one of those can meaning change the decision (it never
        joins without), so only then is the entry embedded."""
        near = []
        for score, story_id in scored:
            weights = self._sums.weights(self._sums.stories[story_id])
            if score >= decision.WORDS_ALONE or any(t[0] in "@#" and t in weights for t in features.terms):
                near.append(story_id)
        return near[: self.config.meaning_near]

    def _understand_stories(self, story_ids: list[int]) -> None:
        """Embed the first unread member of each story that has no meaning vector yet (its text was kept
        when it opened the story without one)."""
        assert self._meanings is not None
        for story_id in story_ids:
            unread = self._first_unread(story_id)
            if unread is not None:
                member = self._members[unread]
                member.features = self._understood(member.features, self._unread.pop(unread))
                if member.features.vector is not None:
                    self._meanings.add(unread, member.features.vector)

    def _understood(self, features: StoryFeatures, text: str) -> StoryFeatures:
        """The features with the meaning vector of `text`. Only an entry that opens a story by its words is
        embedded: one that joins a story is that story's event already, whose first member was embedded."""
        if self._meanings is None or self.embedder is None:
            return features
        vector = self._ready.get(text)
        if vector is None:
            vector = self._embed([text])[0]
        return replace(features, vector=vector)

    def _embed(self, texts: list[str]) -> list[array[float]]:
        """The texts' meaning vectors, their time counted in `meaning_seconds`."""
        assert self.embedder is not None
        started = perf_counter()
        vectors = [array("f", vector) for vector in self.embedder(texts)]
        self.meaning_seconds += perf_counter() - started
        return vectors

    def _by_meaning(self, assignment: Assignment, features: StoryFeatures, time: float) -> Assignment:
        """The decision with meaning: among the other stories nearest in meaning, the one most likely to be
        the entry's event (decision.py), if any is likely, joins the entry's story."""
        best: tuple[float, int, Evidence] | None = None
        decided = {assignment.story_id, *assignment.merged}
        for story_id, evidence in self.meaning_candidates(assignment.entry_id, features, time, decided):
            likely = same_event(evidence)
            if likely >= decision.LIKELY and (best is None or (likely, -story_id) > (best[0], -best[1])):
                best = (likely, story_id, evidence)
        if best is None:
            return assignment
        _, story_id, evidence = best
        if assignment.new_story:
            return Assignment(assignment.entry_id, story_id, False, None, assignment.similarity, evidence=evidence)
        return replace(assignment, merged=(*assignment.merged, story_id), evidence=evidence)

    def meaning_candidates(
        self, entry_id: int, features: StoryFeatures, time: float, decided: Collection[int]
    ) -> list[tuple[int, Evidence]]:
        """The open stories within the window, other than `decided`, whose members are nearest in meaning
        to the entry `entry_id` being filed, with what the entry shares with each. Where the story's nearest
        member is in another language and the decision may join them, their longer texts are compared."""
        if self._meanings is None or features.vector is None:
            return []
        found = []
        for story_id, story, other, cosine in self._nearest_stories(features.vector, time, decided):
            known = self._members[other].features
            evidence = self.evidence(features, time, story, cosine, known.language)
            if evidence.languages_differ and may_join(evidence):
                ours, theirs = self._across_vector(entry_id, features), self._across_vector(other, known)
                if ours is not None and theirs is not None:
                    evidence = replace(evidence, meaning=_cosine(ours, theirs))
            found.append((story_id, evidence))
        return found

    def _nearest_stories(
        self, vector: array[float], time: float, decided: Collection[int]
    ) -> list[tuple[int, StorySum, int, float]]:
        """The open stories within the window, other than `decided` (id and sums), with their member nearest in
        meaning to `vector` (among the `meaning_neighbours` nearest of the ring) and its cosine."""
        assert self._meanings is not None
        nearest: dict[int, tuple[float, int]] = {}
        for cosine, other in self._meanings.nearest(vector, self.config.meaning_neighbours, self.config.meaning_floor):
            member = self._members.get(other)
            if member is not None and member.story not in decided and member.story not in nearest:
                nearest[member.story] = (cosine, other)
        found = []
        for story_id, (cosine, other) in nearest.items():
            story = self._sums.stories[story_id]
            if not story.closed and self._within(time, story):
                found.append((story_id, story, other, cosine))
        return found

    def _across_vector(self, entry_id: int, features: StoryFeatures) -> array[float] | None:
        """The meaning vector of an entry's longer text, embedded once; None when its text was not kept (it
        is not among the last `meaning_scan` entries that kept theirs)."""
        vector = self._across_vectors.get(entry_id)
        if vector is None:
            text = self._across.get(entry_id)
            if text is None:
                return None
            vector = features.vector if not text else self._ready.get(text)
            if vector is None and text:
                vector = self._embed([text])[0]
            if vector is not None:
                _keep(self._across_vectors, entry_id, vector, self.config.meaning_scan)
        return vector

    def evidence(
        self, features: StoryFeatures, time: float, story: StorySum, meaning: float | None, language: str = ""
    ) -> Evidence:
        """What an entry shares with a story, given its meaning cosine to the story's nearest member and that
        member's language."""
        weights = self._sums.weights(story)
        pairs = list(zip(features.terms, features.weights, strict=True))
        shared = [(term, w) for term, w in pairs if term in weights]
        gap = max(0.0, story.start - time, time - story.end) / 3600
        return Evidence(
            meaning=meaning,
            words=self._sums.cosine(features, story),
            names=tuple(term[1:] for term, _ in shared if term.startswith("@")),
            entities=tuple(term[1:] for term, _ in shared if term.startswith("#")),
            who=sum(w for term, w in shared if term[0] in "@#"),
            apart=sum(w for term, w in pairs if term[0] == "@" and term not in weights),
            hours=gap,
            languages_differ=_differ(features.language, language),
        )

    # --- keeping the index -----------------------------------------------------------------------------

    def _hold(
        self, entry_id: int, url: str, features: StoryFeatures, time: float, story_id: int, closed: bool = False
    ) -> None:
        self._sums.hold(entry_id, features, time, story_id, closed)
        scan = self.config.postings_scan
        frequency = self._frequency
        for term in features.terms:
            frequency[term] = frequency.get(term, 0) + 1
            posting = self._postings.get(term)
            if posting is None:
                self._postings[term] = array("i", [entry_id])
            else:
                posting.append(entry_id)
                if len(posting) > 2 * scan:
                    del posting[: len(posting) - scan]
        self._copies.add(entry_id, url, features)
        if features.vector is not None and self._meanings is not None:
            self._meanings.add(entry_id, features.vector)

    def forget(self, entry_id: int) -> None:
        """Drop one entry from the index (it left the window, or was never stored)."""
        member = self._sums.release(entry_id)
        self._unread.pop(entry_id, None)
        self._across.pop(entry_id, None)
        self._across_vectors.pop(entry_id, None)
        for term in member.features.terms:
            left = self._frequency[term] - 1
            if left:
                self._frequency[term] = left
            else:
                del self._frequency[term]
            posting = self._postings.get(term)
            if posting is not None and len(posting) <= 16:
                kept = array("i", (other for other in posting if other in self._members))
                if kept:
                    self._postings[term] = kept
                else:
                    del self._postings[term]
        self._copies.remove(entry_id)

    def prune(self, now: datetime) -> list[int]:
        """Forget entries older than the window before `now`; returns their ids (one pass over the window:
        the desk prunes every few minutes, not per entry)."""
        cutoff = (now - self.config.window).timestamp()
        old = [entry_id for entry_id, member in self._members.items() if member.time < cutoff]
        for entry_id in old:
            self.forget(entry_id)
        return old

    # --- reading ---------------------------------------------------------------------------------------

    def story_of(self, entry_id: int) -> int | None:
        """The story id of an entry still in the index."""
        member = self._members.get(entry_id)
        return member.story if member else None

    def members(self, story_id: int) -> tuple[int, ...]:
        """Ids of the story's entries still in the index, lowest (oldest) first."""
        story = self._sums.stories.get(story_id)
        return tuple(sorted(story.members)) if story else ()

    def __len__(self) -> int:
        return len(self._members)


def _meaning_texts(entry: Entry) -> tuple[str, str]:
    """What the meaning model reads of an entry: its meaning text, and its longer text for comparisons across
    languages ("" where that says no more)."""
    from bot.stories.meaning import ACROSS_CHARS, meaning_text

    text, across = meaning_text(entry), meaning_text(entry, ACROSS_CHARS)
    return text, across if across != text else ""


def _differ(language: str, other: str) -> bool:
    """Whether two entries are in different languages (both known)."""
    return bool(language and other and language != other)


def _searched(features: StoryFeatures, distinctive: int) -> list[tuple[str, float]]:
    """The features candidates are looked up by: the `distinctive` heaviest, and every name and entity. Across
    languages the names are all two reports share, and a report names more than its heaviest features hold
    ("Russland" among a German report's capitalised nouns)."""
    pairs = list(zip(features.terms, features.weights, strict=True))
    return pairs[:distinctive] + [(term, weight) for term, weight in pairs[distinctive:] if term[0] in "@#"]


def _cosine(vector: array[float], other: array[float]) -> float:
    return sum(a * b for a, b in zip(vector, other, strict=True))


def _keep(kept: dict[int, _T], entry_id: int, value: _T, most: int) -> None:
    """Keep `value` for the entry, and only the `most` latest entries' values."""
    kept[entry_id] = value
    if len(kept) > most:
        del kept[next(iter(kept))]
