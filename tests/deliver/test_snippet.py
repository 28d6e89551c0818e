"""Snippets: the window around the match, marks on the matched words, the length cap."""

from __future__ import annotations

from bot.deliver.snippet import ELLIPSIS, make_snippet, title_segments
from bot.model import ClauseHit, Entry, Match, Span


def _match(*spans: Span) -> Match:
    return Match("r", "Rule", (ClauseHit("clause", spans),))


def _span(text: str, word: str, field: str = "body") -> Span:
    start = text.index(word)
    return Span(field, start, start + len(word), word)


def test_short_body_is_whole_with_marks() -> None:
    body = "Kallas refused to rule out sending Estonian troops to Ukraine."
    snippet = make_snippet(
        Entry("f", "o", "u", "t", summary=body), _match(_span(body, "troops"), _span(body, "sending"))
    )
    assert snippet.text == body
    assert snippet.marked_words == ("sending", "troops")


def test_long_body_windows_around_the_densest_marks() -> None:
    body = "Filler words here. " * 40 + "Estonia may send troops to Ukraine, Kallas said. " + "Other news. " * 40
    match = _match(_span(body, "send"), _span(body, "troops"))
    snippet = make_snippet(Entry("f", "o", "u", "t", summary=body), match, limit=120)
    assert len(snippet.text) <= 120
    assert snippet.text.startswith(ELLIPSIS) and snippet.text.endswith(ELLIPSIS)
    assert snippet.marked_words == ("send", "troops")
    assert "Estonia may send troops to Ukraine" in snippet.text


def test_title_marks_only_title_spans() -> None:
    title = "Kallas won't rule out troops"
    body = "troops"
    snippet = title_segments(
        Entry("f", "o", "u", title, summary=body), _match(_span(title, "troops", "title"), _span(body, "troops"))
    )
    assert snippet.text == title
    assert snippet.marked_words == ("troops",)
