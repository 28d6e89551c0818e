"""Canonical URLs: one story, one URL."""

from __future__ import annotations

import pytest

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
