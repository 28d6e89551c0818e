"""NEAR/n, ONEAR/n and NEAR/s stay linear in their hits, and agree with the definition (every pair) on
whether they hold; a single NEAR marks exactly the words every pair would, a chain a subset of them."""

from __future__ import annotations

import time
import tracemalloc
from itertools import product

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.match.entities import Gazetteer
from bot.match.evaluate import Document, compile_query
from bot.match.near import NearEval
from bot.match.query import Near, Or, Phrase, Query, parse_query
from bot.model import Entry

MB = 1024 * 1024
Interval = tuple[int, int]


def _entry(body: str) -> Entry:
    return Entry(feed_url="", outlet="", url="", title="", summary=body)


def _all_pairs(node: Query, doc: Document) -> set[tuple[Interval, frozenset[Interval]]]:
    """The definition, by brute force: every hit as (span, marked words), NEAR over every pair of hits."""
    text = doc.fields["body"]
    if isinstance(node, Phrase):
        (word,) = node.words
        return {((i, i + 1), frozenset({(i, i + 1)})) for i in text.index.get(word, [])}
    if isinstance(node, Or):
        return set().union(*(_all_pairs(child, doc) for child in node.children))
    assert isinstance(node, Near)
    sentences = text.sentences
    found = set()
    for ((a0, a1), a_words), ((b0, b1), b_words) in product(_all_pairs(node.left, doc), _all_pairs(node.right, doc)):
        if a1 <= b0:
            gap = b0 - a1
        elif not node.ordered and b1 <= a0:
            gap = a0 - b1
        else:
            continue
        start, end = min(a0, b0), max(a1, b1)
        close = sentences[start] == sentences[end - 1] if node.distance is None else gap <= node.distance
        if close:
            found.add(((start, end), a_words | b_words))
    return found


QUERIES = [
    "a NEAR/2 b",
    "a ONEAR/1 b",
    "a NEAR/s b",
    "b ONEAR/s a",
    "(a OR c) NEAR/3 (b OR a)",
    "(a NEAR/2 b) NEAR/1 c",
    "(a ONEAR/s b) ONEAR/2 c",
    "c NEAR/1 (a NEAR/s b)",
    "(a NEAR/1 b) NEAR/s (c NEAR/0 a)",
]


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(QUERIES),
    st.lists(st.sampled_from(["a", "b", "c", "d", "a.", "b.", "A"]), min_size=1, max_size=40),
)
def test_near_agrees_with_every_pair(query: str, words: list[str]) -> None:
    body = " ".join(words)
    parsed = parse_query(query)
    doc = Document(_entry(body))
    expected = _all_pairs(parsed, doc)
    hits = compile_query(parsed, Gazetteer({})).clauses[0][1].run(doc)
    assert (hits is not None) == bool(expected), body
    marked = {word for _, words_of in expected for word in words_of}
    got = {word for hit in hits or [] for word in hit[3]}
    chained = isinstance(parsed, Near) and (isinstance(parsed.left, Near) or isinstance(parsed.right, Near))
    assert got <= marked if chained else got == marked, body


def _cost(query: str, body: str) -> tuple[int, float, int]:
    """Hits, seconds and peak traced memory of one evaluation of the query's top NEAR."""
    compiled = compile_query(parse_query(query), Gazetteer({}))
    near = compiled.clauses[0][1]
    assert isinstance(near, NearEval)
    doc = Document(_entry(body))
    doc.fields["body"].sentences  # noqa: B018  (analysed before measuring)
    tracemalloc.start()
    started = time.perf_counter()
    hits = near.run(doc) or []
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return len(hits), seconds, peak


def test_near_s_over_one_long_sentence_is_linear() -> None:
    """The issue's probe: 8,000 words in one sentence made 64 million pairs (out of a 5.5 GB cap)."""
    words = 8000
    hits, seconds, peak = _cost("a* NEAR/s a*", "a " * words)
    assert hits <= 2 * words
    assert seconds < 5 and peak < 64 * MB


def test_wide_near_and_chains_are_linear() -> None:
    body = "hackers grid " * 4000
    for query in ("hack* NEAR/5000 grid", "(hack* NEAR/s grid) NEAR/3 (grid NEAR/9999 hack*)"):
        hits, seconds, peak = _cost(query, body)
        assert hits <= 2 * 8000, query
        assert seconds < 5 and peak < 64 * MB, query
