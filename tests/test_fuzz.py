"""Fuzzing the parts that take untrusted input: the feed parser, the query parser and the alert renderers.

Hypothesis generates hostile input (random bytes, feeds whose fields hold surrogates, NULs, escapes and
markup, random query text); every example must end in a result or the part's own one-sentence error,
within generous time and memory bounds per example (tracemalloc peak). Part of the normal test run; the
example counts keep the whole file within about a minute on CI.
"""

from __future__ import annotations

import io
import json
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from bot.deliver.console import render_story as console_story
from bot.deliver.console import render_update
from bot.deliver.format import MAX_MESSAGE, headline_of, render_story, render_summary, render_why, utf16_len
from bot.deliver.jsonl import alert_record
from bot.match.query import QueryError, parse_query
from bot.model import Alert, ClauseHit, Entry, Match, Span, Story, StoryAlert, StoryMember
from bot.parse.feed import FeedParseError, parse_feed

MB = 1024 * 1024
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
CONTROL = {chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]}
nasty = st.lists(
    st.one_of(
        st.characters(codec=None),
        st.sampled_from(["\x00", "\x1b[2J", "\x1b]0;", "\x07", "\ud800", "\udfff", "[/x]", "<b>", "&amp;", "]]>"]),
    ),
    max_size=30,
).map("".join)


@contextmanager
def bounded(seconds: float, megabytes: float) -> Iterator[None]:
    """Fail the example when it takes longer or allocates more at its peak than allowed."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.2f} s"
    assert peak < megabytes * MB, f"peak {peak / MB:.1f} MB"


def _xml(text: str) -> str:
    return "".join(c for c in text if c not in "<&" and not 0xD800 <= ord(c) <= 0xDFFF)


@st.composite
def feeds(draw: Callable[..., object]) -> bytes:
    """RSS, Atom and JSON Feed documents with hostile fields, or plain random bytes."""
    kind = draw(st.sampled_from(["rss", "atom", "json", "bytes"]))
    items = draw(st.lists(st.tuples(nasty, nasty, nasty, st.text(max_size=20)), max_size=5))
    ttl = draw(st.one_of(st.none(), st.integers(-10, 10**20).map(str), nasty))
    if kind == "bytes":
        return bytes(draw(st.binary(max_size=400)))
    if kind == "json":
        doc = {"version": "https://jsonfeed.org/version/1.1", "title": draw(nasty), "items": [
            {"id": i, "title": t, "content_html": b, "url": link} for t, b, i, link in items
        ]}  # fmt: skip
        return json.dumps(doc).encode("utf-8", "surrogatepass")
    if kind == "rss":
        body = "".join(
            f"<item><title>{_xml(t)}</title><description>{_xml(b)}</description><guid>{_xml(i)}</guid>"
            f"<link>{_xml(link)}</link></item>"
            for t, b, i, link in items
        )
        ttl_tag = f"<ttl>{_xml(ttl)}</ttl>" if ttl is not None else ""
        return f"<rss version='2.0'><channel><title>x</title>{ttl_tag}{body}</channel></rss>".encode()
    body = "".join(
        f"<entry><title>{_xml(t)}</title><summary>{_xml(b)}</summary><id>{_xml(i)}</id>"
        f"<link href='{_xml(link).replace(chr(39), '')}'/></entry>"
        for t, b, i, link in items
    )
    return f"<feed xmlns='http://www.w3.org/2005/Atom'><title>x</title>{body}</feed>".encode()


@settings(FUZZ, max_examples=250)
@given(feeds())
def test_feed_parser_returns_clean_entries_or_one_sentence(data: bytes) -> None:
    with bounded(seconds=5, megabytes=32):
        try:
            parsed = parse_feed(data, feed_url="https://feeds.example/x")
        except FeedParseError as error:
            assert str(error) and "\n" not in str(error)
            return
    assert parsed.ttl is None or parsed.ttl.total_seconds() <= 7 * 86400
    for entry in parsed.entries:
        for value in (entry.title, entry.summary, entry.content, entry.url, entry.outlet, entry.guid or ""):
            assert not CONTROL & set(value)
            value.encode("utf-8")  # no lone surrogates
        assert " " not in entry.url


query_text = st.lists(
    st.one_of(
        st.sampled_from(["(", ")", '"', " NEAR/3 ", " NEAR/s ", " ONEAR/2 ", " NOT ", " OR ", " AND ", "@", "*", "?"]),
        st.sampled_from(["title:", "lang:", "a", "b", "troops", "x-y", " "]),
        st.characters(codec="utf-8"),
    ),
    max_size=120,
).map("".join)


@settings(FUZZ, max_examples=400)
@given(query_text)
def test_query_parser_returns_a_tree_or_a_query_error(text: str) -> None:
    with bounded(seconds=2, megabytes=16):
        try:
            parse_query(text)
        except QueryError as error:
            assert error.message and error.line >= 1 and error.column >= 1


def test_query_parser_refuses_deep_nesting_quickly() -> None:
    for text in ("(" * 10_000 + "a" + ")" * 10_000, "NOT " * 10_000 + "a", "a" + " NEAR/1 a" * 5_000):
        with bounded(seconds=20, megabytes=400):
            try:
                parse_query(text)
            except QueryError as error:
                assert "nests more than" in error.message


@st.composite
def stories(draw: Callable[..., object]) -> StoryAlert:
    """A story that matched one to five topics, each on a hostile entry of its own or on the first one."""
    members = tuple(StoryMember(i, draw(nasty), draw(nasty), "u", None) for i in range(draw(st.integers(1, 15))))
    story = Story(1, draw(nasty), members, draw(nasty), breaking=draw(st.booleans()))
    entries: list[Entry] = []
    alerts = []
    for n in range(draw(st.integers(1, 5))):
        body = draw(st.text(max_size=3000)) + draw(nasty)
        spans = tuple(
            Span("body", s, min(len(body), s + k), body[s : s + k])
            for s, k in draw(st.lists(st.tuples(st.integers(0, max(len(body) - 1, 0)), st.integers(1, 30)),
                                      max_size=8))
        )  # fmt: skip
        own = Entry(
            feed_url="https://feeds.example/x",
            outlet=draw(nasty),
            url=draw(st.sampled_from(["", "https://x.example/a b", "javascript:alert(1)", "https://x.example/\ud800"])),
            title=draw(nasty),
            summary=body,
            published=datetime(2024, 3, 14, tzinfo=UTC),
            guid=f"g{n}",
        )
        entry = entries[0] if entries and draw(st.booleans()) else own
        entries.append(entry)
        match = Match(f"{draw(nasty)}-{n}", draw(nasty), (ClauseHit(draw(nasty), spans),))
        alerts.append(Alert(match.rule_id, match.rule_title, entry, match, id=n, story=story))
    split = draw(st.integers(0, len(alerts) - 1))
    return StoryAlert(story, tuple(alerts[split:]), tuple(alerts[:split]), grown=draw(st.booleans()))


@settings(FUZZ, max_examples=150)
@given(stories())
def test_renderers_fit_telegram_and_never_raise(story: StoryAlert) -> None:
    with bounded(seconds=2, megabytes=16):
        rendered = render_story(story.story, story.alerts)
        assert utf16_len(rendered.plain) <= MAX_MESSAGE
        why = render_why(story.story, story.alerts)
        assert utf16_len(why.plain) <= MAX_MESSAGE
        summary = render_summary("Digest", [headline_of(story.alerts)] * 50)
        assert utf16_len(summary.plain) <= MAX_MESSAGE
        for alert in story.alerts:
            json.dumps(alert_record(alert))
        console = Console(file=io.StringIO(), width=100)
        console.print(console_story(story.story, story.alerts))
        console.print(render_update(story))
        assert "\x1b" not in console.file.getvalue()  # type: ignore[attr-defined]
