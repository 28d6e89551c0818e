"""Words, folding and sentences: the ground every match stands on."""

from __future__ import annotations

import pytest

from bot.match.text import WordPattern, analyze, fold, glob_match, pattern_words


def test_words_keep_offsets_into_the_original_string() -> None:
    text = "Estonia’s PM — Kaja Kallas (F-16)"
    field = analyze(text)
    assert field.words == ["estonia", "s", "pm", "kaja", "kallas", "f", "16"]
    assert [text[s:e] for s, e in zip(*field.offsets(), strict=True)] == [
        "Estonia",
        "s",
        "PM",
        "Kaja",
        "Kallas",
        "F",
        "16",
    ]


@pytest.mark.parametrize(
    ("written", "folded"),
    [
        ("Sent", "sent"),
        ("TÕNIS", "tonis"),
        ("Straße", "strasse"),
        ("Łódź", "lodz"),
        ("Søren", "soren"),
        ("Ærø", "aero"),
        ("Каллас", "каллас"),
        ("Ёлка", "елка"),
        ("e\u0301te", "ete"),
    ],
)
def test_fold_ignores_case_and_diacritics(written: str, folded: str) -> None:
    assert fold(written) == folded


def test_decomposed_accents_and_indic_vowel_signs_stay_inside_their_word() -> None:
    assert analyze("cafe\u0301 नमस्ते दुनिया").words == ["cafe", fold("नमस्ते"), fold("दुनिया")]


def test_pattern_words_keep_wildcards() -> None:
    assert pattern_words("Send* wom?n F-1*") == ("send*", "wom?n", "f", "1*")


@pytest.mark.parametrize(
    ("pattern", "word", "matches"),
    [
        ("send*", "sending", True),
        ("send*", "send", True),
        ("send*", "resend", False),
        ("wom?n", "women", True),
        ("wom?n", "woman", True),
        ("wom?n", "womn", False),
        ("*ment", "deployment", True),
        ("de*ment", "deployment", True),
        ("de*ment", "deploy", False),
        ("a*b*c", "aXbYc", True),
        ("a*b*c", "aXbY", False),
        ("?", "a", True),
        ("?", "ab", False),
    ],
)
def test_glob_matches_whole_words(pattern: str, word: str, matches: bool) -> None:
    assert glob_match(pattern, word) is matches


def test_glob_does_not_blow_up_on_many_stars() -> None:
    assert glob_match("a*" * 40 + "b", "a" * 500) is False


def test_sentences_end_at_punctuation_and_line_breaks_but_not_abbreviations() -> None:
    text = 'Mr. Smith met U.S. officials on 3.5 acres. "It is done." She left!\nNew line. and lower'
    field = analyze(text)
    by_word = dict(zip(field.words, field.sentences, strict=False))
    assert by_word["mr"] == by_word["smith"] == by_word["officials"] == by_word["acres"] == 0
    assert by_word["it"] == by_word["done"] == 1
    assert by_word["she"] == by_word["left"] == 2
    assert by_word["new"] == by_word["line"] == by_word["lower"] == 3


@pytest.mark.parametrize(
    ("pattern", "word", "matches"),
    [
        ("troops", "troops", True),
        ("troops", "troop", False),
        ("deploy*", "deployment", True),
        ("deploy*", "redeploy", False),
        ("*ization", "organization", True),
        ("*ization", "organizations", False),
        ("wom?n", "women", True),
        ("wom?n", "womans", False),
        ("?ar", "war", True),
        ("?ar", "wars", False),
        ("s*d*g", "sending", True),
        ("s*d*g", "sender", False),
    ],
)
def test_word_patterns_agree_with_the_wildcard_definition(pattern: str, word: str, matches: bool) -> None:
    compiled = WordPattern(pattern)
    assert compiled.matches(word) is matches is glob_match(pattern, word)
    field = analyze(f"x {word} y {word}")
    assert compiled.positions(field) == ([1, 3] if matches else [])
