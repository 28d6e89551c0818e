"""The main text of an article page, with its canonical address and site name.

Feeds often carry a line of summary; matching and clustering want the article. trafilatura finds the
main text and leaves out navigation, related links and comment sections ("Previous Article", "Leave a
Comment"). The page's rel=canonical and og:site_name are read from the same parsed tree. Pure: the
caller fetches the bytes and runs this off the event loop, as parsing a page takes tens of milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml.html import HtmlElement

from bot.parse.clean import MAX_LINE, clean_text
from bot.parse.urls import canonical_url


@dataclass(frozen=True, slots=True)
class Article:
    """What a page says: main text, canonical URL (normalised), site name and title when the page gives them."""

    text: str
    url: str
    site_name: str | None = None
    title: str | None = None
    language: str | None = None


def _first(tree: HtmlElement, xpath: str) -> str | None:
    for value in tree.xpath(xpath):
        text = str(value).strip()
        if text:
            return text
    return None


def extract_article(html: bytes | str, url: str, *, min_chars: int = 200) -> Article | None:
    """The article on a page fetched from `url`, or None when no main text of `min_chars` is found.

    The canonical URL is the page's rel=canonical (resolved against `url`) or else `url`, normalised as
    entries are; the site name is og:site_name, else what trafilatura infers from the page.
    """
    import trafilatura  # imported at the first article: 0.3 s that feeds without fulltext need not pay

    tree = trafilatura.load_html(html)
    if tree is None:
        return None
    canonical = _first(tree, "//link[contains(concat(' ', normalize-space(@rel), ' '), ' canonical ')]/@href")
    site_name = _first(tree, "//meta[@property='og:site_name' or @name='og:site_name']/@content")
    if site_name and "://" in site_name:
        site_name = None  # some sites put their social-media profile there
    language = _first(tree, "/html/@lang")
    document = trafilatura.bare_extraction(
        tree, url=url, include_comments=False, include_tables=False, with_metadata=True
    )
    if document is None or not isinstance(document, trafilatura.settings.Document):
        return None
    text = clean_text((document.text or "").strip())
    if len(text) < min_chars:
        return None
    return Article(
        text=text,
        url=clean_text(canonical_url(url, canonical), MAX_LINE),
        site_name=clean_text(site_name or document.sitename or "", MAX_LINE) or None,
        title=clean_text(document.title or "", MAX_LINE) or None,
        language=clean_text((language or document.language or "").split("-")[0].lower(), MAX_LINE) or None,
    )
