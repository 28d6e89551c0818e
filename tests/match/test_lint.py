"""Likely mistakes in queries that parse: each found at its offset, with what to write instead; correct
queries (the shipped rules among them) draw no warning."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.match.entities import Gazetteer
from bot.match.errors import FileProblem
from bot.match.lint import closest_entity, lint_query
from bot.match.query import parse_query
from bot.match.rules import parse_rule
from bot.rulebook.load import load_ruleset
from bot.starter import RULES


@pytest.mark.parametrize(
    ("query", "at", "says"),
    [
        ("Iran near/5 talks", "near/5", "write NEAR/5 (operators are upper case)"),
        ("Iran Near/s talks", "Near/s", "write NEAR/s"),
        ('"ground forces" onear/3 Ukraine', "onear/3", "write ONEAR/3"),
        ("troops (deploy* or send*)", "or send*", "write OR for either side"),
        ('"ground forces" or troops', "or troops", "write OR for either side"),
        ("Kallas and Macron", "and Macron", "write AND, or nothing"),
        ("sanctions not lifted", "not lifted", "write NOT to exclude"),
        ("troops, soldiers, tanks", "troops,", "write OR between alternatives"),
        ('Iran"s talks"', '"s talks"', "a double quote inside a word"),
        ('"nuclear talks"s', '"s', "a double quote inside a word"),
        ("“ground forces”", "“ground", "only straight double quotes make a phrase"),
        ("'ground forces'", "'ground", "only straight double quotes make a phrase"),
        ("+troops Ukraine", "+troops", "'+' means nothing here"),
        ("troops|soldiers", "troops|soldiers", "write OR (either) or AND (both)"),
        ("de* OR sanction*", "de*", "matches every word that starts with 'de'"),
        ("Iran w/5 talks", "w/5", "write NEAR/5"),
        ("Iran pre/3 talks", "pre/3", "write ONEAR/3"),
        ("Iran near5 talks", "near5", "write NEAR/5"),
        ('"Iran talks"~5', "~5", "'~' is not proximity here"),
        ("title:near/5 x", "title:near/5", "write NEAR/5"),
    ],
)
def test_likely_mistakes_are_found_where_they_are(query: str, at: str, says: str) -> None:
    parse_query(query)  # each still parses: that is why it needs a warning
    (found,) = lint_query(query)
    assert found.offset == query.index(at)
    assert says in found.message


@pytest.mark.parametrize(
    "query",
    [
        "Iran NEAR/5 talks",
        '"ground forces" ONEAR/3 Ukraine OR @kaja-kallas NEAR/s resign*',
        "or troops",  # at the edge: not between two terms
        "troops AND NOT lifted",
        "1,000 troops",
        "F-16 OR U.S. OR 24/7",
        "deploy* OR *ization OR organi?ation",
        'title:"ground forces" lang:de',
        "rock'n'roll",
    ],
)
def test_correct_queries_draw_no_warning(query: str) -> None:
    parse_query(query)
    assert lint_query(query) == []


def test_the_shipped_rules_draw_no_warning() -> None:
    ruleset = load_ruleset(RULES)
    assert ruleset.rules and ruleset.errors == ()
    assert ruleset.warnings == ()


def test_one_comma_and_one_quote_warning_per_query() -> None:
    assert len(lint_query("a, b, c, d")) == 1
    assert len(lint_query("“ground forces” OR “armed forces”")) == 1


def test_an_error_caused_by_a_likely_mistake_says_so() -> None:
    with pytest.raises(FileProblem) as caught:
        parse_rule("t.yaml", "id: t\ntitle: T\nquery: troops NEAR/5 (deploy* or send*)\n", Gazetteer({}))
    assert "cannot stand beside NEAR/5" in caught.value.message
    assert "'or' is the ordinary word 'or' here" in caught.value.message


@given(st.text(alphabet="abc /ORNEANDT\"()*,|+~-:@'", max_size=60))
def test_lint_never_fails_on_any_text(text: str) -> None:
    for lint in lint_query(text):
        assert 0 <= lint.offset < len(text)


def test_a_rule_carries_its_warnings_at_file_line_and_column() -> None:
    text = "id: iran-talks\ntitle: Iran talks\nquery: >\n  Iran NEAR/5 talks\n  OR (sanctions or embargo)\n"
    rule = parse_rule("rules/iran.yaml", text, Gazetteer({}))
    assert [str(w) for w in rule.warnings] == [
        "rules/iran.yaml:5: warning: query: 'or' is the ordinary word 'or' here, which must appear in the story; "
        "write OR for either side (column 17)"
    ]


def test_score_terms_are_linted_too() -> None:
    text = "id: t\ntitle: T\nquery: tanks\nscore:\n  threshold: 1\n  terms:\n    - {q: tank* near/3 column, w: 1}\n"
    (warning,) = parse_rule("t.yaml", text, Gazetteer({})).warnings
    assert warning.line == 7 and warning.message.startswith("score term: 'near/3'")


def test_an_unknown_entity_is_an_error_that_suggests_the_known_one() -> None:
    ruleset = load_ruleset(RULES)
    with pytest.raises(FileProblem) as caught:
        parse_rule("k.yaml", "id: k\ntitle: K\nquery: '@kaja NEAR/5 troops'\n", ruleset.gazetteer)
    assert caught.value.message == "query: unknown entity @kaja; did you mean @kaja-kallas? (column 9)"
    assert closest_entity("estnia", ruleset.gazetteer.entities) == "estonia"
    assert closest_entity("atlantis", ruleset.gazetteer.entities) is None
