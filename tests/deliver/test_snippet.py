"""Snippets: the window around the match, marks on the matched words, the length cap."""

from __future__ import annotations

import time

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


def _repeated(word: str, times: int) -> tuple[Entry, Match]:
    """An item whose body is one matched word `times` times (issue 20, item 1), every occurrence a span."""
    body = " ".join([word] * times)
    step = len(word) + 1
    spans = tuple(Span("body", i * step, i * step + len(word), word) for i in range(times))
    return Entry("f", "o", "u", "t", summary=body), Match("r", "Rule", (ClauseHit(word, spans),))


def test_a_hundred_thousand_marks_render_in_well_under_a_second() -> None:
    entry, match = _repeated("troops", 100_000)
    began = time.perf_counter()
    snippet = make_snippet(entry, match)
    took = time.perf_counter() - began
    assert took < 1.0, f"{took:.2f} s for 100,000 marks"
    assert len(snippet.text) <= 300
    assert snippet.marked_words and set(snippet.marked_words) == {"troops"}


def test_window_cost_grows_linearly_with_the_marks() -> None:
    """Ten times the marks costs about ten times the time, not a hundred (a quadratic window took minutes)."""

    def seconds(times: int) -> float:
        entry, match = _repeated("troops", times)
        best = float("inf")
        for _ in range(3):
            began = time.perf_counter()
            make_snippet(entry, match)
            best = min(best, time.perf_counter() - began)
        return best

    assert seconds(100_000) < 30 * seconds(10_000)


def test_window_holds_the_densest_run_of_marks() -> None:
    """Sparse marks early, a dense run late: the window goes to the run."""
    body = "troops " + "calm " * 200 + "troops " * 30 + "calm " * 200
    spans = []
    cursor = 0
    while (found := body.find("troops", cursor)) >= 0:
        spans.append(Span("body", found, found + 6, "troops"))
        cursor = found + 6
    snippet = make_snippet(Entry("f", "o", "u", "t", summary=body), _match(*spans), limit=100)
    assert snippet.marked_words.count("troops") >= 10
    assert snippet.text.startswith(ELLIPSIS)
