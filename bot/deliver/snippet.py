"""The few hundred characters around a match, with the matched words marked, for any renderer.

Pure: takes the entry's text and the match's spans, returns plain and marked segments, so the
terminal (rich) and Telegram (HTML) render the same choice of words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.model import Entry, Match, Span

ELLIPSIS = "…"
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    marked: bool


@dataclass(frozen=True, slots=True)
class Snippet:
    segments: tuple[Segment, ...]

    @property
    def text(self) -> str:
        return "".join(segment.text for segment in self.segments)

    @property
    def marked_words(self) -> tuple[str, ...]:
        return tuple(segment.text for segment in self.segments if segment.marked)


def _merge(spans: Sequence[Span]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if merged and span.start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], span.end))
        else:
            merged.append((span.start, span.end))
    return merged


def _window(text: str, marks: list[tuple[int, int]], limit: int) -> tuple[int, int]:
    """Pick the `limit`-long window that holds the most marks, starting a little before the first.

    One pass with two pointers over the merged marks, so an item of 100,000 matched words costs no more
    than reading it (counting each window anew was quadratic: minutes on the event loop)."""
    if not marks:
        return 0, min(len(text), limit)
    best_start, best_count = marks[0][0], 0
    past = 0  # first mark that does not end inside the window starting at marks[first]
    for first, (start, _) in enumerate(marks):  # merged marks: disjoint, so their ends rise with their starts
        past = max(past, first)
        while past < len(marks) and marks[past][1] <= start + limit:
            past += 1
        if past - first > best_count:
            best_start, best_count = start, past - first
    lead = min(best_start, limit // 5)
    start = max(0, min(best_start - lead, len(text) - limit))
    boundary = text.rfind(" ", 0, start + 1)
    if start > 0 and boundary > start - 30:
        start = boundary + 1
    end = min(len(text), start + limit)
    if end < len(text):
        cut = text.rfind(" ", start, end)
        if cut > start + limit // 2:
            end = cut
    return max(start, 0), end


def _collapse(text: str) -> str:
    return _SPACE.sub(" ", text)


def make_snippet(entry: Entry, match: Match, limit: int = 300) -> Snippet:
    """Up to `limit` characters of the entry's body around the match (ellipses included).

    Only body spans are marked here; a match found only in the title shows the body's opening.
    """
    text = entry.body
    marks = _merge([span for span in match.spans if span.field == "body"])
    room = limit - 2 * len(ELLIPSIS)
    start, end = _window(text, marks, room)
    segments: list[Segment] = []
    if start > 0:
        segments.append(Segment(ELLIPSIS, False))
    cursor = start
    for mark_start, mark_end in marks:
        if mark_end <= start or mark_start >= end:
            continue
        mark_start, mark_end = max(mark_start, start), min(mark_end, end)
        if mark_start > cursor:
            segments.append(Segment(_collapse(text[cursor:mark_start]), False))
        segments.append(Segment(_collapse(text[mark_start:mark_end]), True))
        cursor = mark_end
    if cursor < end:
        segments.append(Segment(_collapse(text[cursor:end]), False))
    if end < len(text):
        segments.append(Segment(ELLIPSIS, False))
    return Snippet(tuple(segment for segment in segments if segment.text))


def title_segments(entry: Entry, match: Match) -> Snippet:
    """The title with the words that matched in it marked."""
    text = entry.title
    segments: list[Segment] = []
    cursor = 0
    for start, end in _merge([span for span in match.spans if span.field == "title"]):
        if start > cursor:
            segments.append(Segment(text[cursor:start], False))
        segments.append(Segment(text[start:end], True))
        cursor = end
    if cursor < len(text):
        segments.append(Segment(text[cursor:], False))
    return Snippet(tuple(segments))
