"""OPML import/export of the feed list."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import FeedConfig, format_duration
from bot.feeds.opml import OpmlError, read_opml, write_opml

READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Subscriptions from a feed reader</title></head>
  <body>
    <outline text="World" title="World">
      <outline type="rss" text="BBC World" title="BBC News - World" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"
               htmlUrl="https://www.bbc.co.uk/news/"/>
      <outline type="rss" text="ERR News" xmlUrl="feed://news.err.ee/rss"/>
    </outline>
    <outline type="rss" text="Duplicate" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
    <outline type="rss" text="Mail list" xmlUrl="mailto:desk@example.com"/>
    <outline text="Folder without feeds"/>
  </body>
</opml>"""


def test_reader_export_is_imported_flat_deduplicated_with_problems_named() -> None:
    imported = read_opml(READER_EXPORT, "subs.opml")
    assert [(f.url, f.name) for f in imported.feeds] == [
        ("https://feeds.bbci.co.uk/news/world/rss.xml", "BBC News - World"),
        ("http://news.err.ee/rss", "ERR News"),
    ]
    assert len(imported.skipped) == 1
    assert imported.skipped[0].startswith("subs.opml: skipped mailto:desk@example.com: ")


def test_export_then_import_round_trips_names_and_intervals() -> None:
    feeds = [
        FeedConfig(url="https://news.err.ee/rss", name="ERR News", every=timedelta(minutes=10)),
        FeedConfig(url="https://example.org/feed.xml"),
        FeedConfig(url="file:///srv/feeds/local.xml", name='Local & <odd> "name"', every=timedelta(hours=2)),
    ]
    text = write_opml(feeds, now=datetime(2026, 2, 17, tzinfo=UTC))
    root = ET.fromstring(text)
    assert root.get("version") == "2.0"
    assert root.findtext("head/dateCreated") == "Tue, 17 Feb 2026 00:00:00 GMT"
    assert [o.get("xmlUrl") for o in root.iter("outline")] == [f.url for f in feeds]
    again = read_opml(text, "export.opml")
    assert [(f.url, f.name, f.every) for f in again.feeds] == [(f.url, f.name, f.every) for f in feeds]
    assert again.skipped == []


def test_not_opml_is_one_clear_sentence() -> None:
    with pytest.raises(OpmlError, match=r"^bad\.opml: not valid OPML \(broken XML at line 2\)$"):
        read_opml("<opml>\n<body><outline></body>", "bad.opml")
    with pytest.raises(OpmlError, match=r"^feed\.xml: not an OPML file"):
        read_opml("<rss><channel/></rss>", "feed.xml")


def test_intervals_are_written_in_config_notation() -> None:
    assert [format_duration(timedelta(seconds=s)) for s in (90, 600, 7200, 86400, 5400)] == [
        "90s",
        "10m",
        "2h",
        "1d",
        "90m",
    ]


def test_export_names_each_feed_by_its_outlet_name_and_import_keeps_titles_out_of_names() -> None:
    """Configured name, else the feed's own name as last polled, else its address (a feed not polled yet); an
    address or a bare host (older exports) is read back as no name."""
    feeds = [
        FeedConfig(url="https://feeds.bbci.co.uk/news/world/rss.xml", name="BBC World"),
        FeedConfig(url="https://www.dawn.com/feeds/world"),
        FeedConfig(url="http://127.0.0.1:8765/wire.xml"),
    ]
    titles = {"https://feeds.bbci.co.uk/news/world/rss.xml": "BBC News", "https://www.dawn.com/feeds/world": "Dawn"}
    text = write_opml(feeds, titles)
    labels = [(o.get("text"), o.get("title")) for o in ET.fromstring(text).iter("outline")]
    address = "127.0.0.1:8765/wire.xml"
    assert labels == [("BBC World", "BBC World"), ("Dawn", "Dawn"), (address, address)]
    again = read_opml(text, "export.opml")
    assert [f.name for f in again.feeds] == ["BBC World", "Dawn", None]
    older = read_opml(text.replace(f'"{address}"', '"127.0.0.1"'), "older.opml")
    assert [f.name for f in older.feeds] == ["BBC World", "Dawn", None]
