"""Presearch must never change an answer: differential tests against evaluating every rule."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.match.document import Document
from bot.match.entities import Gazetteer, parse_entity
from bot.match.matcher import Matcher
from bot.match.presearch import anchors, phrase_anchor
from bot.match.query import parse_query
from bot.match.rules import Rule, RuleSet
from bot.model import Entry

GAZETTEER = Gazetteer(
    {
        e.id: e
        for e in (
            parse_entity("k", "id: kaja-kallas\ntype: person\nnames: [Kaja Kallas]\nambiguous: [Kallas]\n"),
            parse_entity("e", "id: estonia\ntype: place\nnames: [Estonia]\naliases: [Tallinn, eest*]\n"),
            parse_entity("x", "id: odd\ntype: org\nnames: ['*ment unit']\n"),
        )
    }
)
VOCABULARY = ["troops", "troop", "sent", "send", "sending", "deploy", "deployed", "tanks", "kaja", "kallas", "the"]
TEXT_WORDS = [*VOCABULARY, "Estonia", "Tallinn", "Eesti", "resentment", "Kâllas", "TROOPS", "unit", "deployment"]

words = st.sampled_from(VOCABULARY)
wildcards = st.one_of(
    words.map(lambda w: w[:3] + "*"),
    words.map(lambda w: w[:2] + "?" + w[3:]),
    words.map(lambda w: "*" + w[2:]),
)
phrases = st.lists(st.one_of(words, wildcards), min_size=2, max_size=3).map(lambda ws: '"' + " ".join(ws) + '"')
entities = st.sampled_from(["@kaja-kallas", "@estonia", "@odd"])
leaves = st.one_of(words, wildcards, phrases, entities)
fielded = st.tuples(st.sampled_from(["title:", "source:", "url:"]), leaves).map("".join)
near_ops = st.one_of(
    st.integers(0, 4).map(lambda n: f"NEAR/{n}"),
    st.integers(0, 4).map(lambda n: f"ONEAR/{n}"),
    st.just("NEAR/s"),
)
positional = st.recursive(
    st.one_of(leaves, fielded),
    lambda inner: st.one_of(
        st.tuples(inner, near_ops, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(" + " OR ".join(xs) + ")"),
    ),
    max_leaves=5,
)
queries = st.recursive(
    positional,
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(" + " AND ".join(xs) + ")"),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(" + " ".join(xs) + ")"),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(" + " OR ".join(xs) + ")"),
        inner.map(lambda x: f"NOT {x}"),
    ),
    max_leaves=8,
)
texts = st.lists(
    st.tuples(st.sampled_from(TEXT_WORDS), st.sampled_from([" ", " ", ", ", ". ", "\n", "-"])), max_size=14
).map(lambda pairs: "".join(w + sep for w, sep in pairs))
entries = st.builds(
    lambda title, body, source: Entry(feed_url="", outlet=source, url="", title=title, summary=body),
    texts,
    texts,
    st.sampled_from(["", "Troops Daily", "Eesti Päevaleht"]),
)


def ruleset_of(texts: list[str]) -> RuleSet:
    rules = tuple(Rule(id=f"r{i}", title=f"rule {i}", query_text=q, query=parse_query(q)) for i, q in enumerate(texts))
    return RuleSet(rules, GAZETTEER)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(queries, min_size=1, max_size=8), st.lists(entries, min_size=1, max_size=4))
def test_presearch_gives_the_same_matches_and_spans_as_evaluating_every_rule(
    query_texts: list[str], sample: list[Entry]
) -> None:
    ruleset = ruleset_of(query_texts)
    fast, slow = Matcher(ruleset), Matcher(ruleset, presearch=False)
    for entry in sample:
        assert fast.match(entry) == slow.match(entry)


@settings(max_examples=200, deadline=None)
@given(queries, entries)
def test_an_entry_without_any_anchor_of_a_rule_never_matches_it(query_text: str, entry: Entry) -> None:
    ruleset = ruleset_of([query_text])
    matcher = Matcher(ruleset)
    assert matcher.presearcher is not None
    if not matcher.presearcher.candidates(Document(entry)):
        assert Matcher(ruleset, presearch=False).match(entry) == []


def test_anchors_are_the_two_most_selective_parts_of_an_and() -> None:
    query = parse_query('(troops OR soldiers) NEAR/5 (send* OR sent) "Kaja Kallas" NOT parade')
    assert anchors(query, GAZETTEER) == [frozenset({" kaja kallas "}), frozenset({" troops ", " soldiers "})]


def test_anchors_of_an_or_are_all_alternatives_and_of_an_entity_all_unambiguous_names() -> None:
    assert anchors(parse_query("tanks OR @estonia"), GAZETTEER) == [
        frozenset({" tanks ", " estonia ", " tallinn ", " eest"})
    ]
    assert anchors(parse_query("(tanks jets) OR (troops ships)"), GAZETTEER) == [
        frozenset({" tanks ", " troops "}),
        frozenset({" jets ", " ships "}),
    ]


def test_a_rule_is_a_candidate_only_when_both_of_its_passes_found_an_anchor() -> None:
    matcher = Matcher(ruleset_of(["tanks NEAR/5 jets", "tanks OR jets"]))
    assert matcher.presearcher is not None
    only_tanks = Document(Entry(feed_url="", outlet="", url="", title="", summary="tanks"))
    both = Document(Entry(feed_url="", outlet="", url="", title="jets", summary="tanks"))
    assert matcher.presearcher.candidates(only_tanks) == [1]
    assert matcher.presearcher.candidates(both) == [0, 1]


def test_rules_without_a_usable_anchor_are_always_evaluated() -> None:
    assert anchors(parse_query("NOT parade"), GAZETTEER) == []
    assert anchors(parse_query("tanks OR NOT parade"), GAZETTEER) == []
    ruleset = ruleset_of(["NOT parade", "tanks"])
    matcher = Matcher(ruleset)
    assert matcher.presearcher is not None
    empty = Document(Entry(feed_url="", outlet="", url="", title="", summary="nothing here"))
    assert matcher.presearcher.candidates(empty) == [0]


def test_phrase_anchors_keep_word_boundaries() -> None:
    assert phrase_anchor(("troops",)) == " troops "
    assert phrase_anchor(("exit", "poll*")) == " exit poll"
    assert phrase_anchor(("wom?n",)) == " wom"
    assert phrase_anchor(("ground", "*ment")) == " ground "
    assert phrase_anchor(("*ment", "unit")) == " unit "
    assert phrase_anchor(("*ment",)) == "ment "
    assert phrase_anchor(("s?ate",)) == "ate "
    assert phrase_anchor(("d*ployment",)) == "ployment "


def test_wildcard_anchor_does_not_pick_a_rule_for_a_word_that_only_contains_the_prefix() -> None:
    matcher = Matcher(ruleset_of(["send*"]))
    assert matcher.presearcher is not None
    doc = Document(Entry(feed_url="", outlet="", url="", title="", summary="resentment, presend"))
    assert matcher.presearcher.candidates(doc) == []


def test_link_and_source_words_only_wake_rules_that_ask_for_those_fields() -> None:
    matcher = Matcher(ruleset_of(["https", "url:https", "source:reuters", "reuters"]))
    assert matcher.presearcher is not None
    entry = Entry(feed_url="", outlet="Reuters", url="https://example.com/a", title="Markets", summary="")
    assert matcher.presearcher.candidates(Document(entry)) == [1, 2]
    assert [m.rule_id for m in matcher.match(entry)] == ["r1", "r2"]
