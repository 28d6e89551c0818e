"""One outlet name everywhere (alerts, story lines, status, logs, export), decided by pure functions in
bot/model.py: the configured name, else the short name the feed gives itself, else its address."""

from __future__ import annotations

import pytest

from bot.model import FeedState, outlet_name, site_name
from bot.parse.feed import parse_feed

RSS = (
    b"<rss version='2.0'><channel><title>%s</title><link>https://site.example/</link>"
    b"<item><title>t</title><link>https://site.example/1</link></item></channel></rss>"
)


@pytest.mark.parametrize(
    ("name", "site", "url", "expected"),
    [
        ("BBC World", "BBC News", "https://feeds.bbci.co.uk/news/world/rss.xml", "BBC World"),
        (None, "BBC News", "https://feeds.bbci.co.uk/news/world/rss.xml", "BBC News"),
        ("  ", " Dawn ", "https://www.dawn.com/feeds/world", "Dawn"),
        # Not read yet: its address, so two feeds on one host are told apart in the logs of the first start.
        ("", None, "https://www.dawn.com/feeds/world", "dawn.com/feeds/world"),
        (None, "", "http://127.0.0.1:8765/wire.xml", "127.0.0.1:8765/wire.xml"),
        (None, None, "file:///srv/feeds/local.xml", "/srv/feeds/local.xml"),
    ],
)
def test_configured_name_else_the_feeds_own_else_its_address(
    name: str | None, site: str | None, url: str, expected: str
) -> None:
    assert outlet_name(name, site, url) == expected


@pytest.mark.parametrize(
    ("title", "link", "expected"),
    [
        # Titles and links of the news snapshot in ../shared/corpus (SOURCES.md), as their feeds give them.
        ("Al Jazeera – Breaking News, World News and Video from Al Jazeera", "https://www.aljazeera.com", "Al Jazeera"),
        ("World - CBSNews.com", "https://www.cbsnews.com/", "CBSNews.com"),
        ("World", "https://www.washingtonpost.com", "washingtonpost.com"),
        ("Top Stories", "https://www.abc.net.au/news", "abc.net.au"),
        ("Asia", "https://www.economist.com/asia", "economist.com"),
        (
            "World News: Breaking news, politics, crime, tech, and more",
            "https://www.boston.com/tag/world-news/",
            "boston.com",
        ),
        ("ABC News: International", "http://abcnews.com", "ABC News"),
        ("The Christian Science Monitor | All stories", "https://www.csmonitor.com", "The Christian Science Monitor"),
        ("Dawn - World", "https://www.dawn.com/", "Dawn"),
        ("Deutsche Welle", "https://www.dw.com/english/", "Deutsche Welle"),
        ("NYT > World News", "https://www.nytimes.com/section/world", "NYT"),
        ("World – TIME", "https://time.com", "TIME"),
        ("Rest of World -", "https://restofworld.org", "Rest of World"),
        ("WSJ.com: World News", "http://online.wsj.com/page/2_0006.html", "WSJ.com"),
        ("EL PAÍS in English", "https://english.elpais.com", "EL PAÍS in English"),
        ("Japan Today - Category World", "https://japantoday.com/category/world", "Japan Today"),
        # A name that resembles no host and is no section name stays; so does one in another script.
        ("Harbour Times", "https://feeds.example/", "Harbour Times"),
        ("Пример RSS ленты", "http://example.com/", "Пример RSS ленты"),
        # No title: the channel's link host, else the feed's.
        ("", "https://www.example.org/news", "example.org"),
        ("", None, "feeds.example.net"),
    ],
)
def test_the_short_name_a_feed_gives_itself(title: str, link: str | None, expected: str) -> None:
    assert site_name(title, link, "https://feeds.example.net/world.xml") == expected


def test_a_long_title_costs_linear_time() -> None:
    """Feed titles are untrusted: a title of separators and spaces splits in one pass."""
    assert site_name(" - " * 20_000 + "Wire", None, "https://feeds.example.net/x") == "Wire"


def test_entries_and_the_stored_feed_agree_on_the_name() -> None:
    """The name parse gives every entry is the name status and export give the feed."""
    url = "http://127.0.0.1:8765/wire.xml"
    for configured, title in (("Wire", b"Harbour Times"), ("", b"Harbour Times - World"), ("", b"")):
        parsed = parse_feed(RSS % title, feed_url=url, name=configured)
        state = FeedState(url=url, name=configured, title=parsed.site or None)
        assert parsed.entries[0].outlet == state.outlet
    assert FeedState(url=url, name="", title="Harbour Times").outlet == "Harbour Times"
    assert parse_feed(RSS % b"", feed_url=url).entries[0].outlet == "site.example"
