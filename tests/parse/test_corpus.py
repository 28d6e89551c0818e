"""Real malformed and oddly encoded feeds from ../shared/corpus (skipped where it is absent)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot.parse.feed import FeedParseError, parse_feed
from tests.conftest import corpus_path

# file -> (number of entries, first entry's title) or the error sentence's beginning.
EXPECTED: dict[str, tuple[int, str] | str] = {
    "malformed_real/aivarsk_atom__3d13901a267083a8.xml": (56, "TigerBeetle as a file storage"),
    "malformed_real/codearcana_atom__490dc9839ac777be.xml": (40, "An Ideal Platform Experience"),
    "malformed_real/dylanharris_rss__7ef13a42fa7e177a.xml": "not a feed: broken XML at line 4",
    "malformed_real/eliotjones_rss__9e0834333e854116.xml": (59, "So you want to parse a PDF?"),
    "malformed_real/fastfeedparser_json_feed_sample.json": (2, "First JSON Feed Item"),
    "malformed_real/fastfeedparser_malformed_rss_namespaced.xml": "not a feed: broken XML at line 4",
    "malformed_real/fastfeedparser_utf16_encoded.xml": (1, "UTF-16 Entry 1"),
    "malformed_real/humanwhocodes_jsonfeed__d4b7ab74da763119.json": (10, "Using your own Supabase signing keys"),
    "malformed_real/kroy_rss__b0e71155ca8a590c.xml": (10, "VyOS and Mikrotik – VLAN-a-rama"),
    "malformed_real/oscard0m_rss__705749c3b1bd02d8.xml": (15, "How to use 'Nested Layouts' without"),
    "encodings_real/huginn_iso-8859-1.rss": (1, "Mëkanïk Zaïn"),
    "encodings_real/miniflux_encoding_ISO-8859-1.xml": (40, "Red Dead Redemption 2: Hinweise auf PC-Umsetzung"),
    "encodings_real/miniflux_encoding_WINDOWS-1251.xml": (50, "Цитата #17703"),
    "encodings_real/miniflux_invalid-prolog.xml": (1, "Café"),
    "encodings_real/miniflux_iso88591_utf8_mismatch.xml": "not a feed: nothing readable as RSS, Atom or JSON Feed",
    "encodings_real/miniflux_koi8r.xml": (2, "Первая новость"),
    "encodings_real/miniflux_no_encoding_ISO-8859-1.xml": (9, "Perturbateurs endocriniens : quels effets"),
    "encodings_real/miniflux_rdf_UTF8.xml": (60, "OLED-TVs: Vorsichtsmaßnahmen gegen Einbrennen"),
    "encodings_real/miniflux_urdu_UTF8.xml": (26, "امریکی عسکری امداد کی بندش کی وجوہات"),
    "encodings_real/miniflux_utf8-incorrect-prolog.xml": (1, "Café"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_odd_feeds(name: str) -> None:
    data = corpus_path("feeds", *name.split("/")).read_bytes()
    expected = EXPECTED[name]
    if isinstance(expected, str):
        with pytest.raises(FeedParseError, match=f"^{re.escape(expected)}"):
            parse_feed(data, feed_url="https://example.org/feed")
        return
    feed = parse_feed(data, feed_url="https://example.org/feed")
    count, first_title = expected
    assert len(feed.entries) == count
    assert feed.entries[0].title.startswith(first_title)
    assert all(e.published is None or e.published.utcoffset() is not None for e in feed.entries)


def test_utf8_mislabelled_as_windows_1252_is_read_as_utf8() -> None:
    path = corpus_path("feeds", "encodings_real", "miniflux_windows-1252-incorrect-prolog.xml")
    assert parse_feed(path.read_bytes(), feed_url="https://example.org/feed").title == "Euro €"


def _feedparser_suite() -> Path:
    return corpus_path("feeds", "feedparser_tests")


_TITLE_EXPECTATION = re.compile(
    r"^Expect:\s*(?:not bozo and )?(entries\[0\]\['title'\]|feed\['title'\])\s*==\s*(u?'[^'\\<&]*')\s*$", re.M
)
_HEADER_CONTENT_TYPE = re.compile(r"^Header:\s*Content-type:\s*(.+)$", re.M | re.I)


def test_feedparser_suite_titles_survive_our_text_conversion() -> None:
    """feedparser's own test documents that assert a plain title: we must produce the same text.

    Sanitizer cases are left out: they test HTML safety, and we keep no HTML at all.
    """
    checked = 0
    for path in sorted(_feedparser_suite().rglob("*.xml")):
        if "sanitize" in path.parts:
            continue
        data = path.read_bytes()
        head = data[:2000].decode("latin-1")
        expectation = _TITLE_EXPECTATION.search(head)
        if not expectation:
            continue
        header = _HEADER_CONTENT_TYPE.search(head)
        feed = parse_feed(data, feed_url="http://example.org/", content_type=header and header.group(1).strip())
        field, literal = expectation.groups()
        got = feed.entries[0].title if field.startswith("entries") else feed.title
        assert got == ast.literal_eval(literal.removeprefix("u")).strip(), path
        checked += 1
    assert checked >= 40


def test_whole_feedparser_suite_parses_or_fails_with_a_sentence() -> None:
    """2,000 odd documents: every one ends as a ParsedFeed or a one-line FeedParseError, never a crash."""
    outcomes = {"parsed": 0, "refused": 0}
    for path in sorted(_feedparser_suite().rglob("*")):
        if not path.is_file():
            continue
        try:
            parse_feed(path.read_bytes(), feed_url="http://example.org/")
            outcomes["parsed"] += 1
        except FeedParseError as error:
            assert str(error).startswith("not a feed: ") and "\n" not in str(error)
            outcomes["refused"] += 1
    assert outcomes["parsed"] > 1900
