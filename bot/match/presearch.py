"""Presearch: pick the few rules an entry could possibly match, the way Lucene's Monitor does.

Every rule is reduced to anchor sets: strings such that an entry containing none of a set's
strings cannot match the rule. An OR needs an anchor of any alternative, an AND (or NEAR) holds
a set for each of its parts, NOT contributes nothing. Like Monitor's multipass presearcher, each
rule keeps its two most selective sets (two "passes"): a rule is a candidate only when the entry
holds an anchor of each. All anchors of all rules go into one Aho-Corasick automaton that scans
the entry's folded words once; only candidates are evaluated fully. Rules without any anchor
set (a bare NOT) are always evaluated, so the result equals evaluating every rule.

Anchors live in the same space as the scanned text, " word word ... ": a whole word is
" word " and a wildcard word is its leading letters " depl", so word boundaries stay exact.
Title and body words are scanned as they are; words of the source, url and lang fields carry a
marker ("\x1fbbc"), so the "https" of every link never wakes a rule about "https" in the text,
while `url:https` still finds its anchor " \x1fhttps ".
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import ahocorasick

from bot.match.document import Document
from bot.match.entities import Gazetteer
from bot.match.query import EntityRef, Field, Near, Not, Or, Phrase, Query
from bot.match.text import has_wildcard, literal_prefix

Anchors = frozenset[str]
_Numbered = tuple[tuple[int, ...], frozenset[int] | None]
"""A rule's first-pass key numbers, and its second pass's (None without one)."""
PASSES = 2
META_FIELDS = ("source", "url", "lang")
META = "\x1f"

_COMMON = frozenset(
    "a an and are as at be but by for from has have he her his in is it its of on or that the their they "
    "this to was were will with s said says new not no after over more than who would could about".split()
)


def anchors(query: Query, gazetteer: Gazetteer, marker: str = "") -> list[Anchors]:
    """Anchor sets of a query, most selective first, each one necessary for a match; [] if none is.

    `marker` is META inside a source:, url: or lang: field.
    """
    if isinstance(query, Phrase):
        key = phrase_anchor(query.words, marker)
        return [] if key is None else [frozenset((key,))]
    if isinstance(query, EntityRef):
        entity = gazetteer.get(query.entity_id)
        keys = [phrase_anchor(words, marker) for words in entity.forms] if entity else [None]
        return [] if None in keys else [frozenset(k for k in keys if k is not None)]
    if isinstance(query, Field):
        return anchors(query.child, gazetteer, META if query.name in META_FIELDS else "")
    if isinstance(query, Not):
        return []
    if isinstance(query, Or):
        alternatives = [anchors(child, gazetteer, marker) for child in query.children]
        depth = min(len(a) for a in alternatives)
        return [frozenset().union(*(a[k] for a in alternatives)) for k in range(min(depth, PASSES))]
    parts = (query.left, query.right) if isinstance(query, Near) else query.children
    pool = [keys for part in parts for keys in anchors(part, gazetteer, marker)]
    return sorted(pool, key=cost)[:PASSES]


@lru_cache(maxsize=200_000)
def phrase_anchor(words: tuple[str, ...], marker: str = "") -> str | None:
    """The most selective string every occurrence of a phrase must contain, or None if there is none.

    Candidates: the leading whole words plus the first wildcard word's letters before the wildcard
    (("exit", "poll*") -> " exit poll"), any whole word alone (" troops "), and the longest run of
    letters inside a wildcard word, with a word boundary where the run touches one ("s?ate" -> "ate ").
    """
    candidates: list[str] = []
    leading: list[str] = []
    for word in words:
        if has_wildcard(word):
            break
        leading.append(word)
    if len(leading) == len(words):
        return " " + " ".join(marker + w for w in words) + " "
    prefix = literal_prefix(words[len(leading)])
    if leading or prefix:
        marked = [marker + w for w in leading]
        candidates.append(" " + " ".join([*marked, marker + prefix]) if prefix else " " + " ".join(marked) + " ")
    for word in words:
        if not has_wildcard(word):
            candidates.append(f" {marker}{word} ")
        elif run := _longest_literal_run(word):
            candidates.append((" " if word.startswith(run) else "") + run + (" " if word.endswith(run) else ""))
    return min(candidates, key=_key_cost, default=None)


def _longest_literal_run(pattern: str) -> str:
    runs = pattern.replace("?", "*").split("*")
    return max(runs, key=len)


def cost(keys: Anchors) -> float:
    """How often the anchors are expected to show up: rarer is cheaper to check."""
    return sum(_key_cost(k) for k in keys)


@lru_cache(maxsize=200_000)
def _key_cost(key: str) -> float:
    """Longer keys are rarer; common words, short prefixes or suffixes and mid-word runs are frequent.

    Without statistics of the stream this follows Lucene Monitor's default: length as a proxy for rarity.
    """
    words = [w for w in key.replace(META, "").split() if w not in _COMMON]
    if not words:
        return 50.0
    letters = sum(len(w) for w in words)
    expected = 8.0 / letters
    if not (key.startswith(" ") and key.endswith(" ")):
        expected *= 1 + 25 / letters**2
    if not (key.startswith(" ") or key.endswith(" ")):
        expected *= 3
    return expected


class Presearcher:
    """One automaton over all rules' anchors; `candidates` says which rules to evaluate.

    Built `reusing` the presearcher of an earlier version of the rules, it keeps that one's key numbers (keys no
    rule uses any more find nothing), the numbered anchors of rules whose anchors are the same objects, and its
    automaton when no rule brought a new key: a reload after one edit costs little more than that rule.
    """

    def __init__(self, rule_anchors: Sequence[list[Anchors]], *, reusing: Presearcher | None = None) -> None:
        self.rule_anchors = rule_anchors
        self.always = [i for i, passes in enumerate(rule_anchors) if not passes]
        self.key_ids: dict[str, int] = dict(reusing.key_ids) if reusing is not None else {}
        known = len(self.key_ids)
        earlier = {id(a): n for a, n in zip(reusing.rule_anchors, reusing.numbered, strict=True)} if reusing else {}
        self.numbered: list[_Numbered] = [earlier.get(id(passes)) or self._numbered(passes) for passes in rule_anchors]
        self.first_pass: list[list[int]] = [[] for _ in self.key_ids]
        for i, (first, _) in enumerate(self.numbered):
            for key_id in first:
                self.first_pass[key_id].append(i)
        self.second_pass = [second for _, second in self.numbered]
        self.automaton: ahocorasick.Automaton = (
            reusing.automaton if reusing is not None and len(self.key_ids) == known else _automaton(self.key_ids)
        )

    def _numbered(self, passes: list[Anchors]) -> _Numbered:
        """A rule's first pass and second pass (if any) as key numbers, numbering new keys."""
        ids = [tuple(self.key_ids.setdefault(key, len(self.key_ids)) for key in anchor_set) for anchor_set in passes]
        return (ids[0] if ids else ()), (frozenset(ids[1]) if len(ids) > 1 else None)

    def candidates(self, doc: Document) -> list[int]:
        """Indexes of the rules the entry could match, in ascending order."""
        if not self.first_pass:
            return list(self.always)
        fields = doc.fields
        meta = [META + w for name in META_FIELDS for w in fields[name].words]
        text = " ".join(["", *fields["title"].words, *fields["body"].words, *meta, ""])
        found = {key_id for _, key_id in self.automaton.iter(text)}
        first = set().union(*[self.first_pass[key_id] for key_id in found])
        second = self.second_pass
        chosen = [i for i in first if (needed := second[i]) is None or not needed.isdisjoint(found)]
        chosen.extend(self.always)
        chosen.sort()
        return chosen


def _automaton(key_ids: dict[str, int]) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for key, key_id in key_ids.items():
        automaton.add_word(key, key_id)
    if key_ids:
        automaton.make_automaton()
    return automaton
