"""Canonical URLs: one story, one URL."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.parse.urls import canonical_url


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
