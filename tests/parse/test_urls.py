"""Canonical URLs: one story, one URL."""

from __future__ import annotations

import io
from urllib.parse import parse_qsl, urlsplit

import feedparser
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.parse.urls import DropParams, canonical_url, resolve_link
from tests.conftest import corpus_path


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTP://News.Example.COM:80/a/b", "http://news.example.com/a/b"),
        ("https://news.example.com:443/a", "https://news.example.com/a"),
        ("https://news.example.com:8443/a", "https://news.example.com:8443/a"),
        ("https://e.com/a?utm_source=rss&utm_medium=feed&id=5", "https://e.com/a?id=5"),
        ("https://e.com/a?fbclid=1&gclid=2&mc_cid=3&mc_eid=4&page=2", "https://e.com/a?page=2"),
        ("https://e.com/a?b=2&a=1", "https://e.com/a?a=1&b=2"),
        ("https://e.com/a#comments", "https://e.com/a"),
        ("https://e.com/news/story/amp", "https://e.com/news/story"),
        ("https://e.com/news/story/amp/", "https://e.com/news/story/"),
        ("https://e.com/amp/news/story", "https://e.com/news/story"),
        ("https://e.com/story?amp=1", "https://e.com/story"),
        ("https://e.com/story?amp", "https://e.com/story"),
        ("https://e.com/story?outputType=amp", "https://e.com/story"),
        ("https://amp.e.com/story", "https://e.com/story"),
        ("https://e.com/story.amp.html", "https://e.com/story.html"),
        ("https://e.com", "https://e.com/"),
        ("https://e.com/a/../b/./c", "https://e.com/b/c"),
        ("https://e.com/story.php?1234", "https://e.com/story.php?1234"),
        ("https://e.com/s?id=5&amp=1&utm_source=x", "https://e.com/s?id=5"),
        ("https://e.com/s?q=a%20b&ref=rss", "https://e.com/s?q=a%20b"),
        ("http://e.com:8080/a?x=1#top", "http://e.com:8080/a?x=1"),
        ("urn:uuid:1225c695-cfb8", "urn:uuid:1225c695-cfb8"),
    ],
)
def test_canonical_forms(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def test_amp_is_only_a_whole_path_segment() -> None:
    assert canonical_url("https://e.com/ampere/example") == "https://e.com/ampere/example"
    assert canonical_url("https://e.com/s?ampm=pm") == "https://e.com/s?ampm=pm"


def test_rel_canonical_wins_and_may_be_relative() -> None:
    amp_page = "https://amp.e.com/news/amp/story?utm_campaign=x"
    assert canonical_url(amp_page, canonical="https://e.com/news/story") == "https://e.com/news/story"
    assert canonical_url("https://e.com/x/y?ref=feed", canonical="/news/story#top") == "https://e.com/news/story"
    assert canonical_url("https://e.com/x", canonical="  ") == "https://e.com/x"


_segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.~", min_size=1, max_size=8)
_query = st.lists(st.tuples(st.sampled_from(["id", "page", "utm_source", "amp", "q", "fbclid"]), _segment), max_size=4)


@given(
    scheme=st.sampled_from(["http", "https", "HTTPS"]),
    host=st.sampled_from(["news.example.com", "AMP.example.org", "www.Example.net:8080", "e.com:443"]),
    path=st.lists(st.one_of(_segment, st.just("amp")), max_size=4),
    query=_query,
    fragment=st.one_of(st.just(""), _segment),
)
def test_canonical_form_is_stable(
    scheme: str, host: str, path: list[str], query: list[tuple[str, str]], fragment: str
) -> None:
    url = f"{scheme}://{host}/{'/'.join(path)}?{'&'.join(f'{k}={v}' for k, v in query)}#{fragment}"
    once = canonical_url(url)
    assert canonical_url(once) == once
    keys = {key for key, _ in parse_qsl(urlsplit(once).query, keep_blank_values=True)}
    assert "#" not in once
    assert not any(key.startswith("utm_") or key == "fbclid" for key in keys)


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://www.dw.com/en/a-75995188?maca=en-rss-en-all-1573-rdf", "https://www.dw.com/en/a-75995188"),
        ("https://www.aljazeera.com/news/2026/2/18/x?traffic_source=rss", "https://www.aljazeera.com/news/2026/2/18/x"),
        ("https://www.bbc.com/news/articles/cp81?at_medium=RSS&at_campaign=rss", "https://www.bbc.com/news/articles/cp81"),
        ("https://www.csmonitor.com/USA/2026/0217/x?icid=rss", "https://www.csmonitor.com/USA/2026/0217/x"),
        ("https://www.ndtv.com/world-news/x-11051469#publisher=newsstand", "https://www.ndtv.com/world-news/x-11051469"),
        ("https://www.heise.de/meldung/x.html?wt_mc=rss.ho.beitrag.atom", "https://www.heise.de/meldung/x.html"),
        ("https://www.dailymail.co.uk/x.html?ns_mchannel=rss&ito=1490&ns_campaign=1490", "https://www.dailymail.co.uk/x.html"),
        ("https://www.wsj.com/world/x?gaa_at=eafs&gaa_n=AW&gaa_ts=6994&gaa_sig=Yx", "https://www.wsj.com/world/x"),
        ("https://menafn.com/1108000001/x?src=Rss", "https://menafn.com/1108000001/x"),
        ("https://www.merkur.de/politik/x-93512.html?cmp=defrss", "https://www.merkur.de/politik/x-93512.html"),
        ("https://www.nbcnews.com/news/x-n1116681?cid=public-rss_20200116", "https://www.nbcnews.com/news/x-n1116681"),
        ("https://www.ksta.de/x-3685896?dmcid=f_feed_MZ", "https://www.ksta.de/x-3685896"),
        ("https://www.repubblica.it/esteri/x/?rss", "https://www.repubblica.it/esteri/x/"),
        ("https://www.kleinezeitung.at/international/5785210/x?from=rss", "https://www.kleinezeitung.at/international/5785210/x"),
        ("https://abcnews.go.com/Politics/x/story?id=129637763", "https://abcnews.go.com/Politics/x/story?id=129637763"),
        ("https://x.example/p?source=home&id=3&from=archive", "https://x.example/p?from=archive&id=3&source=home"),
    ],
)
def test_feed_trackers_go_and_article_identity_stays(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def test_users_drop_their_own_parameters_exactly_or_by_prefix() -> None:
    drop = DropParams.of(["Sp_*", "partnerid"])
    url = "https://x.example/a?SP_share=1&sp_x=2&partnerID=9&keep=3&id=4"
    assert canonical_url(url, drop=drop) == "https://x.example/a?id=4&keep=3"
    assert resolve_link("https://x.example/feed", "/a?partnerid=1&id=4", drop) == "https://x.example/a?id=4"
    assert canonical_url(url) == "https://x.example/a?SP_share=1&id=4&keep=3&partnerID=9&sp_x=2"


def _raw_links(folder: str) -> list[tuple[str, list[str]]]:
    """Each corpus feed's item links as the feed wrote them (feedparser, before any canonicalisation)."""
    found = []
    for path in sorted(corpus_path("feeds", folder).iterdir()):
        document = feedparser.parse(io.BytesIO(path.read_bytes()))
        found.append((path.name, [str(e["link"]) for e in document.entries if e.get("link")]))
    return found


def test_real_news_links_lose_every_tracker_and_no_two_articles_merge() -> None:
    """The 1,180 items of the corpus's 16-outlet news snapshot: what the feeds add (maca, traffic_source,
    at_medium, icid, utm_*, #publisher=...) is gone, and distinct links stay distinct."""
    feeds = _raw_links("news_snapshot_2026-02-17")
    tracked = 0
    for name, links in feeds:
        canonical = [canonical_url(link) for link in links]
        assert len(set(canonical)) == len(set(links)), name
        for raw, clean in zip(links, canonical, strict=True):
            parts = urlsplit(clean)
            tracked += raw != clean and bool(urlsplit(raw).query or urlsplit(raw).fragment)
            assert not parts.fragment, raw
            assert {key for key, _ in parse_qsl(parts.query, keep_blank_values=True)} <= {"id", "p"}, raw
    assert sum(len(links) for _, links in feeds) > 1000
    assert tracked > 200  # DW, Al Jazeera, BBC, CS Monitor, NDTV ... tag most of their links
