"""parse_changed against full parses: the entries a store keeps across a sequence of polls are
identical with and without skipping known items, on real feeds that changed over time."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.model import Entry
from bot.parse.feed import FeedParseError, parse_feed
from bot.parse.items import ItemMemory, parse_changed, scan_items, subset_document
from tests.conftest import CORPUS_ABSENT, missing

FEEDS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "feeds"
OVER_TIME = FEEDS / "snapshots_over_time"
URL = "https://feeds.example.org/feed"


def rss(*items: str, header: str = "<title>Wire</title><link>https://wire.example/</link>") -> bytes:
    blocks = "".join(
        f"<item><title>{t}</title><link>https://wire.example/{t.replace(' ', '-')}</link>"
        f"<pubDate>Tue, 02 Jan 2024 12:00:00 GMT</pubDate></item>"
        for t in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>{header}{blocks}</channel></rss>'.encode()
    )


class Store:
    """What the entries table keeps: the first entry seen under each key, as the real store does."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}

    def add(self, entries: list[Entry]) -> None:
        for entry in entries:
            self.entries.setdefault(entry.key, entry)


def replay(bodies: list[bytes], content_type: str | None = None) -> int:
    """Poll `bodies` in order with and without the shortcut; assert the same store, feed metadata
    and publication dates after every poll; return how many polls took the shortcut."""
    full, fast = Store(), Store()
    memory: ItemMemory | None = None
    shortcuts = 0
    for body in bodies:
        try:
            reference = parse_feed(body, feed_url=URL, name="", content_type=content_type)
        except FeedParseError:
            with pytest.raises(FeedParseError):
                parse_changed(body, feed_url=URL, name="", content_type=content_type, content_hash="", memory=memory)
            memory = None
            continue
        digest = hashlib.sha256(body).hexdigest()
        changed = parse_changed(
            body, feed_url=URL, name="", content_type=content_type, content_hash=digest, memory=memory
        )
        full.add(reference.entries)
        fast.add(changed.feed.entries)
        assert fast.entries == full.entries
        feed = changed.feed
        assert (feed.title, feed.link, feed.ttl, feed.language) == (
            reference.title,
            reference.link,
            reference.ttl,
            reference.language,
        )
        assert changed.published == [e.published for e in reference.entries if e.published is not None]
        if changed.partial:
            shortcuts += 1
            assert len(feed.entries) <= len(reference.entries)
        else:
            assert feed.entries == reference.entries
        memory = changed.memory
    return shortcuts


def sliding(body: bytes, steps: int = 2) -> list[bytes]:
    """Versions of one real feed as it would evolve: items enter at the top and fall off the end."""
    scan = scan_items(body, None)
    if scan is None or len(scan.spans) < steps + 2:
        return [body, body + b"\n<!-- touched -->"]
    count = len(scan.spans)
    return [subset_document(body, scan, [steps - k <= i < count - k for i in range(count)]) for k in range(steps + 1)]


def corpus(folder: str) -> Iterator[Path]:
    directory = FEEDS / folder
    if not directory.is_dir():
        missing(f"{CORPUS_ABSENT} {directory}")
    yield from sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix in (".xml", ".rss", ".atom", ".json"))


def test_snapshots_over_time_store_the_same_entries() -> None:
    if not OVER_TIME.is_dir():
        missing(f"{CORPUS_ABSENT} {OVER_TIME}")
    shortcuts = 0
    for feed in sorted(p for p in OVER_TIME.iterdir() if p.is_dir()):
        shortcuts += replay([p.read_bytes() for p in sorted(feed.glob("*.xml"))])
    assert shortcuts > 0, "real successive versions of real feeds take the shortcut"


@pytest.mark.parametrize(
    ("folder", "shortcuts"),
    [("news_snapshot_2026-02-17", 10), ("encodings_real", 0), ("malformed_real", 0), ("feedparser_tests", 1000)],
)
def test_real_feeds_evolving_store_the_same_entries(folder: str, shortcuts: int) -> None:
    """Every file, as it would evolve, and once more with a charset label that must not mislead."""
    taken = 0
    for path in corpus(folder):
        body = path.read_bytes()
        taken += replay(sliding(body))
        taken += replay([body, body + b" "], content_type="text/xml; charset=iso-8859-1")
    assert taken >= shortcuts


def test_only_new_items_are_parsed_and_dates_cover_all() -> None:
    first = parse_changed(
        rss("b", "c", "d"), feed_url=URL, name="Wire", content_type=None, content_hash="1", memory=None
    )
    assert not first.partial and len(first.feed.entries) == 3 and first.memory is not None
    second = parse_changed(
        rss("a", "b", "c"), feed_url=URL, name="Wire", content_type=None, content_hash="2", memory=first.memory
    )
    assert second.partial
    assert [e.title for e in second.feed.entries] == ["a"]
    assert len(second.published) == 3


@pytest.mark.parametrize(
    ("later", "name"),
    [
        (rss("a", "b", header="<title>Other</title><link>https://wire.example/</link>"), ""),
        (rss("a", "b", header="<title>Wire</title><link>https://other.example/</link>"), "Wire"),
        (rss("a", "b").replace(b"<channel>", b'<channel xml:base="https://x.example/">'), "Wire"),
        (rss("a", "b"), "Renamed"),
        (rss("a", "b").replace(b"<item>", b"<item><item>", 1), "Wire"),
        (rss("a", "b").replace(b"</item>", b"<bad></item>", 1), "Wire"),
        (rss("a", "b").replace(b"utf-8", b"utf-16"), "Wire"),
        (b"<!DOCTYPE rss [<!ENTITY w 'x'>]>" + rss("a", "b"), "Wire"),
        (rss("a", "b").replace(b"<item>", b"<entry>").replace(b"</item>", b"</entry>"), "Wire"),
    ],
    ids=["title", "link", "xml-base", "name", "nested", "malformed", "utf16-label", "doctype", "wrong-tag"],
)
def test_anything_unusual_parses_in_full(later: bytes, name: str) -> None:
    first = parse_changed(rss("b"), feed_url=URL, name="Wire", content_type=None, content_hash="1", memory=None)
    try:
        reference = parse_feed(later, feed_url=URL, name=name)
    except FeedParseError:
        return
    second = parse_changed(later, feed_url=URL, name=name, content_type=None, content_hash="2", memory=first.memory)
    assert not second.partial
    assert second.feed.entries == reference.entries


def test_atom_and_rdf_items_are_found() -> None:
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        b"<entry><title>one</title></entry><entry><title>two</title></entry></feed>"
    )
    rdf = (
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">'
        b"<channel><title>R</title><items/></channel><item><title>one</title></item></rdf:RDF>"
    )
    atom_scan, rdf_scan = scan_items(atom, None), scan_items(rdf, None)
    assert atom_scan is not None and [atom[s:e] for s, e in atom_scan.spans][1] == b"<entry><title>two</title></entry>"
    assert rdf_scan is not None and [rdf[s:e] for s, e in rdf_scan.spans] == [b"<item><title>one</title></item>"]
    assert scan_items(b'{"version": "https://jsonfeed.org/version/1.1"}', None) is None
    assert scan_items(b"<html><body>no feed</body></html>", None) is None
