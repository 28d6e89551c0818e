"""Evaluating queries on entries: every operator, word boundaries, folding, fields and entities,
with the matched spans asserted exactly (field, offsets into the entry's own strings, text)."""

from __future__ import annotations

import pytest

from bot.match.entities import Gazetteer, parse_entity
from bot.match.evaluate import Document, compile_query
from bot.match.query import QueryError, parse_query
from bot.model import Entry

KALLAS = """
id: kaja-kallas
type: person
names: [Kaja Kallas]
aliases: [Кая Каллас]
ambiguous: [Kallas, Каллас]
"""
ESTONIA = """
id: estonia
type: place
names: [Estonia]
aliases: [Estonian, Tallinn, Эстони*]
"""
GAZETTEER = Gazetteer({e.id: e for e in (parse_entity("k.yaml", KALLAS), parse_entity("e.yaml", ESTONIA))})

SpanRow = tuple[str, int, int, str]


def evaluate(
    query: str, body: str = "", *, title: str = "", source: str = "", url: str = "", lang: str | None = None
) -> list[tuple[str, list[SpanRow]]] | None:
    """The clauses that held with their spans, or None when the query does not hold."""
    entry = Entry(feed_url="", outlet=source, url=url, title=title, summary=body, language=lang)
    result = compile_query(parse_query(query), GAZETTEER).evaluate(Document(entry))
    if result is None:
        return None
    return [(hit.clause, [(s.field, s.start, s.end, s.text) for s in hit.spans]) for hit in result]


def spans(query: str, body: str = "", **fields: str) -> list[SpanRow] | None:
    """All spans of a query that holds, or None."""
    result = evaluate(query, body, **fields)
    return None if result is None else [s for _, rows in result for s in rows]


def test_word_matches_whole_words_only_ignoring_case() -> None:
    assert spans("sent", "Sent. The resentment was sent.") == [("body", 0, 4, "Sent"), ("body", 25, 29, "sent")]
    assert spans("sent", "resentment, presents") is None


def test_trailing_wildcard_matches_from_a_word_start_only() -> None:
    text = "Sending troops; resentment grows; they send more."
    assert spans("send*", text) == [("body", 0, 7, "Sending"), ("body", 39, 43, "send")]
    assert spans("send*", "resentment") is None


def test_question_mark_and_inner_star_wildcards() -> None:
    assert spans("wom?n", "Women and a woman, not womn.") == [("body", 0, 5, "Women"), ("body", 12, 17, "woman")]
    assert spans("de*ment", "deployment, deploy") == [("body", 0, 10, "deployment")]


def test_diacritics_fold_both_ways() -> None:
    assert spans("Tõnis", "TONIS spoke") == [("body", 0, 5, "TONIS")]
    assert spans("tonis", "Tõnis spoke") == [("body", 0, 5, "Tõnis")]
    assert spans("Łódź", "in Lodz") == [("body", 3, 7, "Lodz")]


def test_phrase_is_consecutive_words_and_punctuation_between_them_does_not_count() -> None:
    text = "Ground forces, not ground-based forces; ground: forces"
    assert spans('"ground forces"', text) == [("body", 0, 13, "Ground forces"), ("body", 40, 54, "ground: forces")]
    assert spans('"forces ground"', "forces, and ground") is None


def test_phrase_with_wildcards() -> None:
    assert spans('"exit poll*"', "The exit polls show") == [("body", 4, 14, "exit polls")]


def test_punctuated_term_is_a_phrase() -> None:
    assert spans("F-16", "F-16 jets and F 16 parts; F16") == [("body", 0, 4, "F-16"), ("body", 14, 18, "F 16")]


def test_implicit_and_requires_every_term() -> None:
    assert evaluate("troops Ukraine", "Troops to Ukraine") == [
        ("troops", [("body", 0, 6, "Troops")]),
        ("Ukraine", [("body", 10, 17, "Ukraine")]),
    ]
    assert evaluate("troops Ukraine", "Troops to Poland") is None
    assert evaluate("troops AND Ukraine", "Troops to Ukraine") == evaluate("troops Ukraine", "Troops to Ukraine")


def test_or_reports_only_the_alternatives_that_hold() -> None:
    assert evaluate("tanks OR troops OR jets", "troops and jets") == [
        ("troops", [("body", 0, 6, "troops")]),
        ("jets", [("body", 11, 15, "jets")]),
    ]
    assert evaluate("tanks OR jets", "troops") is None


def test_not_excludes_and_yields_no_spans() -> None:
    assert evaluate("troops NOT parade", "troops deployed") == [
        ("troops", [("body", 0, 6, "troops")]),
        ("NOT parade", []),
    ]
    assert evaluate("troops NOT parade", "troops at the parade") is None
    assert evaluate("NOT parade", "troops") == [("NOT parade", [])]


def test_near_is_unordered_and_counts_words_in_between() -> None:
    text = "deployed were the troops"
    assert spans("troops NEAR/2 deployed", text) == [("body", 0, 8, "deployed"), ("body", 18, 24, "troops")]
    assert spans("troops NEAR/1 deployed", text) is None
    assert spans("troops NEAR/0 deployed", "troops deployed") == [
        ("body", 0, 6, "troops"),
        ("body", 7, 15, "deployed"),
    ]


def test_near_sides_may_not_be_the_same_words() -> None:
    assert spans("troops NEAR/3 troop*", "troops") is None
    assert spans("troops NEAR/3 troop*", "troops, troopers") == [("body", 0, 6, "troops"), ("body", 8, 16, "troopers")]


def test_onear_requires_order() -> None:
    assert spans("troops ONEAR/3 deployed", "troops were deployed") == [
        ("body", 0, 6, "troops"),
        ("body", 12, 20, "deployed"),
    ]
    assert spans("troops ONEAR/3 deployed", "deployed were troops") is None


def test_near_with_groups_marks_only_the_words_that_are_close() -> None:
    text = "Tanks rolled in. Far away, after many unrelated words here, troops were sent home"
    assert spans("(troops OR tanks) NEAR/3 (send* OR sent)", text) == [
        ("body", 60, 66, "troops"),
        ("body", 72, 76, "sent"),
    ]


def test_near_measures_phrases_from_their_edges() -> None:
    text = "ground forces would be deployed"
    assert spans('"ground forces" NEAR/2 deploy*', text) == [
        ("body", 0, 13, "ground forces"),
        ("body", 23, 31, "deployed"),
    ]
    assert spans('"ground forces" NEAR/1 deploy*', text) is None


def test_chained_near_measures_from_the_combined_hit() -> None:
    text = "troops were deployed to the border"
    assert spans("(troops NEAR/2 deployed) NEAR/2 border", text) == [
        ("body", 0, 6, "troops"),
        ("body", 12, 20, "deployed"),
        ("body", 28, 34, "border"),
    ]
    assert spans("(troops NEAR/2 deployed) NEAR/1 border", text) is None


def test_near_s_requires_the_same_sentence() -> None:
    assert spans("hack* NEAR/s grid", "Hackers hit the grid. Then calm.") == [
        ("body", 0, 7, "Hackers"),
        ("body", 16, 20, "grid"),
    ]
    assert spans("hack* NEAR/s grid", "Hackers struck. The grid held.") is None
    assert spans("hack* NEAR/s grid", "Hackers, said Mr. Smith, hit the grid") is not None


def test_near_never_crosses_fields() -> None:
    assert spans("troops NEAR/5 deployed", "deployed", title="troops") is None


def test_unfielded_terms_search_title_and_body() -> None:
    assert spans("troops", "More troops", title="Troops") == [("title", 0, 6, "Troops"), ("body", 5, 11, "troops")]


def test_field_prefixes_search_only_their_field() -> None:
    entry = {
        "title": "Sanctions widened",
        "source": "Reuters World",
        "url": "https://www.bbc.co.uk/news/1",
        "lang": "en-GB",
    }
    assert spans("title:sanction*", "sanctions", **entry) == [("title", 0, 9, "Sanctions")]
    assert spans("title:troops", "troops", **entry) is None
    assert spans("source:reuters", **entry) == [("source", 0, 7, "Reuters")]
    assert spans('url:"bbc.co.uk"', **entry) == [("url", 12, 21, "bbc.co.uk")]
    assert spans("lang:en", **entry) == [("lang", 0, 2, "en")]
    assert spans("sanctions NOT lang:ru", **entry) == [("title", 0, 9, "Sanctions")]
    assert spans("title:(troops OR widened)", **entry) == [("title", 10, 17, "widened")]


def test_entity_matches_any_unambiguous_form_in_any_script() -> None:
    assert spans("@estonia", "Estonian troops left Tallinn.") == [
        ("body", 0, 8, "Estonian"),
        ("body", 21, 28, "Tallinn"),
    ]
    assert spans("@estonia", "Эстонию посетил") == [("body", 0, 7, "Эстонию")]
    assert spans("@kaja-kallas", "Кая Каллас заявила") == [("body", 0, 10, "Кая Каллас")]


def test_ambiguous_forms_count_only_beside_an_unambiguous_name() -> None:
    assert spans("@kaja-kallas", "Kallas Street was closed") is None
    assert spans("@kaja-kallas", "Каллас сказал") is None
    assert spans("@kaja-kallas", "Kallas spoke first.", title="Kaja Kallas in Riga") == [
        ("title", 0, 11, "Kaja Kallas"),
        ("body", 0, 6, "Kallas"),
    ]


def test_ambiguous_form_in_a_field_counts_when_the_full_name_is_elsewhere_in_the_entry() -> None:
    assert spans("title:@kaja-kallas", "Prime Minister Kaja Kallas said no.", title="Kallas says no") == [
        ("title", 0, 6, "Kallas")
    ]


def test_entity_inside_near() -> None:
    assert spans("@kaja-kallas NEAR/3 troops", "Kaja Kallas sent troops") == [
        ("body", 0, 11, "Kaja Kallas"),
        ("body", 17, 23, "troops"),
    ]


def test_unknown_entity_is_a_query_error_at_its_offset() -> None:
    with pytest.raises(QueryError) as caught:
        compile_query(parse_query("troops NEAR/3 @atlantis"), GAZETTEER)
    assert caught.value.message == "unknown entity @atlantis"
    assert caught.value.offset == 14


def test_precedence_decides_matches() -> None:
    assert evaluate("tanks OR troops sent", "tanks") is not None
    assert evaluate("(tanks OR troops) sent", "tanks") is None
    assert evaluate("NOT tanks NEAR/1 sent", "tanks were then sent") is not None
    assert evaluate("NOT tanks NEAR/1 sent", "tanks sent") is None
