"""One outlet name everywhere (alerts, story lines, status, export), decided by one pure function."""

from __future__ import annotations

import pytest

from bot.model import FeedState, outlet_name
from bot.parse.feed import parse_feed

RSS = (
    b"<rss version='2.0'><channel><title>%s</title><link>https://site.example/</link>"
    b"<item><title>t</title><link>https://site.example/1</link></item></channel></rss>"
)


@pytest.mark.parametrize(
    ("name", "title", "url", "expected"),
    [
        ("BBC World", "BBC News - World", "https://feeds.bbci.co.uk/news/world/rss.xml", "BBC World"),
        (None, "BBC News - World", "https://feeds.bbci.co.uk/news/world/rss.xml", "BBC News - World"),
        ("  ", " Dawn ", "https://www.dawn.com/feeds/world", "Dawn"),
        ("", None, "https://www.dawn.com/feeds/world", "dawn.com"),
        (None, "", "http://127.0.0.1:8765/wire.xml", "127.0.0.1"),
        (None, None, "file:///srv/feeds/local.xml", "file:///srv/feeds/local.xml"),
    ],
)
def test_configured_name_else_feed_title_else_host(
    name: str | None, title: str | None, url: str, expected: str
) -> None:
    assert outlet_name(name, title, url) == expected


def test_entries_and_the_stored_feed_agree_on_the_name() -> None:
    """The name parse gives every entry is the name status and export give the feed."""
    url = "http://127.0.0.1:8765/wire.xml"
    for configured, title in (("Wire", b"Harbour Times"), ("", b"Harbour Times"), ("", b"")):
        parsed = parse_feed(RSS % title, feed_url=url, name=configured)
        state = FeedState(url=url, name=configured, title=parsed.title or None)
        assert parsed.entries[0].outlet == state.outlet
    assert FeedState(url=url, name="", title="Harbour Times").outlet == "Harbour Times"
