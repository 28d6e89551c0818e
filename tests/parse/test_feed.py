"""Feed bytes -> ParsedFeed: plain text, UTC dates, identity, outlet, and clear errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.parse.feed import FeedParseError, html_to_text, parse_feed

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="et">
  <title>ERR uudised</title>
  <link href="https://news.err.ee/"/>
  <entry>
    <title type="html">Kallas &lt;b&gt;refuses&lt;/b&gt; to rule out troops</title>
    <id>tag:err.ee,2026:1609</id>
    <link href="/1609/kallas?utm_source=rss&amp;utm_medium=feed#comments"/>
    <published>2026-02-17T14:30:00+02:00</published>
    <author><name>Mari Tamm</name></author>
    <summary type="html">&lt;p&gt;First paragraph.&lt;/p&gt;&lt;p&gt;Second&amp;nbsp;one &amp;amp; more.&lt;/p&gt;
      &lt;script&gt;track()&lt;/script&gt;</summary>
    <content type="html">&lt;div&gt;Full text of the story.&lt;/div&gt;</content>
  </entry>
</feed>"""


def test_atom_entry_is_normalised_to_plain_text_utc_and_canonical_links() -> None:
    feed = parse_feed(ATOM, feed_url="https://news.err.ee/atom", name="ERR News")
    assert (feed.title, feed.link, feed.language, feed.ttl) == ("ERR uudised", "https://news.err.ee/", "et", None)
    [entry] = feed.entries
    assert entry.title == "Kallas refuses to rule out troops"
    assert entry.summary == "First paragraph.\nSecond one & more."
    assert entry.content == "Full text of the story."
    assert entry.url == "https://news.err.ee/1609/kallas"
    assert entry.guid == "tag:err.ee,2026:1609"
    assert entry.published == datetime(2026, 2, 17, 12, 30, tzinfo=UTC)
    assert (entry.author, entry.language, entry.outlet, entry.feed_url) == (
        "Mari Tamm",
        "et",
        "ERR News",
        "https://news.err.ee/atom",
    )


def test_outlet_falls_back_to_feed_title_then_domain() -> None:
    assert parse_feed(ATOM, feed_url="https://news.err.ee/atom").entries[0].outlet == "ERR uudised"
    untitled = b'<rss version="2.0"><channel><item><title>x</title></item></channel></rss>'
    assert parse_feed(untitled, feed_url="https://www.delfi.ee/rss").entries[0].outlet == "delfi.ee"


def test_rss_ttl_and_plain_text_titles() -> None:
    body = b"""<rss version="2.0"><channel><title>Wire</title><ttl>30</ttl>
      <item><title>Ceasefire talks: a &lt; b</title><guid isPermaLink="false">42</guid></item></channel></rss>"""
    feed = parse_feed(body, feed_url="https://wire.example/rss")
    assert feed.ttl == timedelta(minutes=30)
    assert feed.entries[0].title == "Ceasefire talks: a < b"
    assert (feed.entries[0].url, feed.entries[0].guid, feed.entries[0].published) == ("", "42", None)


def test_empty_feed_is_not_an_error() -> None:
    feed = parse_feed(b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>', feed_url="https://q/")
    assert (feed.title, feed.entries) == ("Quiet", [])


def test_json_feed_is_mapped_like_xml() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON Wire",
        "home_page_url": "https://json.example/",
        "language": "en",
        "items": [
            {
                "id": "1",
                "url": "https://json.example/a?fbclid=xyz",
                "title": "Troops sent",
                "content_html": "<p>Soldiers were <em>sent</em>.</p>",
                "summary": "Short",
                "date_published": "2026-02-17T10:00:00-05:00",
                "authors": [{"name": "Desk"}],
            },
            "not an item",
        ],
    }
    feed = parse_feed(json.dumps(doc).encode(), feed_url="https://json.example/feed.json")
    [entry] = feed.entries
    assert (feed.title, feed.link, entry.url) == ("JSON Wire", "https://json.example/", "https://json.example/a")
    assert (entry.summary, entry.content, entry.author) == ("Short", "Soldiers were sent.", "Desk")
    assert entry.published == datetime(2026, 2, 17, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"", None, "not a feed: the response body is empty"),
        (b"<!DOCTYPE html><html><body>Login</body></html>", "text/html", "not a feed: got text/html"),
        (b"<html><body>Oops</body></html>", None, "not a feed: got text/html"),
        (b'{"hello": "world"}', "application/json", "not a feed: JSON without a JSON Feed version"),
        (b'{"version": ', "application/json", "not a feed: invalid JSON at line 1"),
        (b"just some words", "text/plain", "not a feed: got text/plain"),
        (b"just some words", None, "not a feed: the body is neither XML nor JSON"),
        (b"<?xml version='1.0'?><note><to>Ana</to></note>", "text/xml", "not a feed: nothing readable as"),
        (b"<rss><channel><item>\n<title>x</ti", None, "not a feed: broken XML at line "),
    ],
)
def test_unreadable_documents_are_one_sentence(body: bytes, content_type: str | None, message: str) -> None:
    with pytest.raises(FeedParseError) as caught:
        parse_feed(body, feed_url="https://x.example/feed", content_type=content_type)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_feed_contents_are_never_taken_as_a_path_to_open() -> None:
    with pytest.raises(FeedParseError):
        parse_feed(b"/etc/passwd", feed_url="https://x.example/feed")


def test_html_to_text_keeps_blocks_apart_and_drops_scripts() -> None:
    markup = "<h2>Title</h2><p>One<br>two</p><style>p{}</style><ul><li>a</li><li>b</li></ul><!-- hidden -->"
    assert html_to_text(markup) == "Title\nOne\ntwo\na\nb"
    assert html_to_text("Fish &amp; chips") == "Fish & chips"
