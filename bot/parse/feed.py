"""Feed bytes -> ParsedFeed of model.Entry objects in plain text (pure: no I/O).

feedparser does the heavy lifting (RSS 0.9x-2.0, RDF, Atom, CDF, wrong encodings, malformed XML
through its loose parser); JSON Feed, which feedparser 6.0 does not read, is mapped here. What
neither can read becomes a FeedParseError with one sentence a user can act on.
"""

from __future__ import annotations

import calendar
import html
import io
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import feedparser

from bot.model import Entry, outlet_name, site_name
from bot.parse.clean import MAX_LINE, clean_entry, clean_text
from bot.parse.urls import BUILT_IN, DropParams, resolve_link


class FeedParseError(ValueError):
    """The bytes are no feed anything can recover; str(error) is the one-sentence reason."""


MAX_TTL = timedelta(days=7)
"""Longest RSS <ttl> taken as given (the poll policy caps every hint further)."""
MAX_JSON_DEPTH = 64
"""JSON Feed values nested deeper are read as null: an item holds a few levels; json recurses per level."""


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """One parsed feed document: its own metadata and its entries, newest layout untouched.

    `skipped` holds one reason per item that could not be read; the other items are there. `site` is the
    short name the feed gives itself (`site_name` of its title and link), what the store keeps as its title.
    """

    title: str
    link: str | None
    ttl: timedelta | None
    language: str | None
    entries: list[Entry]
    skipped: tuple[str, ...] = ()
    site: str = ""


def parse_feed(
    data: bytes, *, feed_url: str, name: str = "", content_type: str | None = None, drop: DropParams = BUILT_IN
) -> ParsedFeed:
    """Parse a feed document fetched from `feed_url`.

    `name` is the configured feed name; every entry's outlet is `outlet_name` of it, the feed's site name
    (`site_name`) and `feed_url`; links drop the user's `drop` parameters besides the built-in trackers.
    `content_type` is the HTTP header, which tells feedparser the charset and names an HTML page in the error
    when that is what the server sent.
    """
    if not data.strip():
        raise FeedParseError("not a feed: the response body is empty")
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return _parse_json_feed(data, feed_url=feed_url, name=name, drop=drop)
    data, content_type = _trust_valid_utf8(data, content_type)
    headers = {"content-type": content_type} if content_type else {}
    # A BytesIO, never bare bytes: feedparser treats a bytes/str argument as a path or URL to open.
    doc = feedparser.parse(io.BytesIO(data), response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    meta = doc.get("feed", {})
    title = clean_text(_text(meta.get("title", ""), meta.get("title_detail")), MAX_LINE)
    link = _line(meta.get("link"))
    language = _line(meta.get("language"))
    site = site_name(title, link, feed_url)
    outlet = outlet_name(name, site, feed_url)
    base = link or feed_url
    entries, skipped = _each_item(
        doc.get("entries", []), lambda item: _entry(item, feed_url, outlet, base, language, drop)
    )
    if not entries and not skipped and not title and (doc.get("bozo") or not doc.get("version")):
        raise FeedParseError(_unreadable_reason(data, content_type, doc.get("bozo_exception")))
    return ParsedFeed(title, link, _ttl(meta.get("ttl")), language, entries, skipped, site)


def _each_item(items: object, read: Callable[[Any], Entry]) -> tuple[list[Entry], tuple[str, ...]]:
    """Every item read on its own, so one that breaks the reader costs only itself; empty items are dropped."""
    entries: list[Entry] = []
    skipped: list[str] = []
    for number, item in enumerate(items if isinstance(items, list) else [], 1):
        try:
            entry = clean_entry(read(item))
        except Exception as error:  # any reader bug on one item's data must spare the others
            skipped.append(f"item {number}: {type(error).__name__}: {clean_text(str(error), 200)}")
            continue
        if entry.title or entry.url or entry.body:
            entries.append(entry)
    return entries, tuple(skipped)


def _line(value: object) -> str | None:
    """A one-line metadata string (link, language) from outside, or None for anything else."""
    return clean_text(value, MAX_LINE) or None if isinstance(value, str) else None


_XML_ENCODING = re.compile(rb"^(\s*<\?xml[^>]*?encoding\s*=\s*[\"'])([^\"']+)", re.IGNORECASE)


def _trust_valid_utf8(data: bytes, content_type: str | None) -> tuple[bytes, str | None]:
    """Treat non-ASCII bytes that form valid UTF-8 as UTF-8 whatever the prolog or header claims.

    Multi-byte UTF-8 sequences almost never occur by chance in legacy 8-bit text, so a feed that
    declares windows-1252 but is valid UTF-8 was mislabelled by its generator (a common fault).
    """
    if data.isascii():
        return data, content_type
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data, content_type
    media = content_type.split(";")[0] if content_type else None
    return _XML_ENCODING.sub(rb"\g<1>utf-8", data, count=1), media


def _entry(
    item: Mapping[str, Any], feed_url: str, outlet: str, base: str, language: str | None, drop: DropParams
) -> Entry:
    if not isinstance(item, Mapping):
        raise TypeError("not an item")
    summary = _text(item.get("summary", ""), item.get("summary_detail"))
    content_parts = item.get("content") or []
    content = "\n".join(_text(part.get("value", ""), part) for part in content_parts).strip()
    if content == summary:
        content = ""
    link = item.get("link") or ""
    detail = item.get("title_detail") or item.get("summary_detail") or {}
    return Entry(
        feed_url=feed_url,
        outlet=outlet,
        url=resolve_link(base, link, drop),
        title=_text(item.get("title", ""), item.get("title_detail")),
        summary=summary,
        guid=item.get("id") or None,
        published=_utc(item.get("published_parsed") or item.get("updated_parsed")),
        content=content,
        language=detail.get("language") or language,
        author=item.get("author") or None,
    )


def _text(value: str, detail: Mapping[str, Any] | None) -> str:
    """Plain text of a feedparser field, read as HTML unless feedparser knows it is plain text."""
    if detail is not None and detail.get("type") == "text/plain":
        return plain_text(value)
    return html_to_text(value)


def _utc(parsed: time.struct_time | None) -> datetime | None:
    """feedparser's *_parsed tuples are UTC; out-of-range dates count as absent."""
    if parsed is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _ttl(value: object) -> timedelta | None:
    """RSS <ttl> is in minutes, at most MAX_TTL; junk or non-positive values mean no hint."""
    digits = str(value).strip()
    if not (digits.isascii() and digits.isdigit()) or not digits.strip("0"):
        return None
    limit = int(MAX_TTL.total_seconds() // 60)
    return timedelta(minutes=min(int(digits), limit) if len(digits) <= 9 else limit)


def _unreadable_reason(data: bytes, content_type: str | None, error: object) -> str:
    media = (content_type or "").split(";")[0].strip().lower()
    head = data[:2048].lower()
    if media in ("text/html", "application/xhtml+xml") or b"<html" in head or b"<!doctype html" in head:
        return f"not a feed: got {media or 'text/html'}"
    if not data.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n").startswith(b"<"):
        return f"not a feed: got {media}" if media else "not a feed: the body is neither XML nor JSON"
    if not hasattr(error, "getLineNumber"):
        return "not a feed: nothing readable as RSS, Atom or JSON Feed"
    message = error.getMessage() if hasattr(error, "getMessage") else str(error)
    return f"not a feed: broken XML at line {error.getLineNumber()} ({message})"


def _parse_json_feed(data: bytes, *, feed_url: str, name: str, drop: DropParams) -> ParsedFeed:
    """Map a JSON Feed (https://jsonfeed.org, versions 1 and 1.1) onto the same objects."""
    text = data.decode("utf-8-sig", errors="replace")
    try:
        try:
            doc = json.loads(text)
        except RecursionError:
            doc = json.loads(shallow_json(text, MAX_JSON_DEPTH))
    except json.JSONDecodeError as error:
        raise FeedParseError(f"not a feed: invalid JSON at line {error.lineno}") from error
    if not isinstance(doc, dict) or "jsonfeed.org" not in str(doc.get("version", "")):
        raise FeedParseError("not a feed: JSON without a JSON Feed version")
    title = clean_text(plain_text(_string(doc.get("title"))), MAX_LINE)
    link = _line(doc.get("home_page_url"))
    language = _line(doc.get("language"))
    site = site_name(title, link, feed_url)
    outlet = outlet_name(name, site, feed_url)
    base = link or feed_url
    entries, skipped = _each_item(
        doc.get("items"), lambda item: _json_entry(item, feed_url, outlet, base, language, drop)
    )
    return ParsedFeed(title, link, None, language, entries, skipped, site)


_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
"""Strings (skipped whole, so brackets inside them do not count) and brackets: one linear scan."""


def shallow_json(text: str, limit: int) -> str:
    """The JSON text with every array or object nested deeper than `limit` replaced by null."""
    parts: list[str] = []
    depth = position = cut_from = 0
    for token in _JSON_TOKENS.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth == limit + 1:
                cut_from = token.start()
        elif char in "]}":
            if depth == limit + 1:
                parts += [text[position:cut_from], "null"]
                position = token.end()
            depth -= 1
    parts.append(text[position:])
    return "".join(parts)


def _string(value: object) -> str:
    """A JSON value meant as text: strings and numbers as written, anything else as empty."""
    if isinstance(value, str):
        return value
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else ""


def _json_entry(
    item: dict[str, Any], feed_url: str, outlet: str, base: str, language: str | None, drop: DropParams
) -> Entry:
    if not isinstance(item, dict):
        raise TypeError("not an object")
    link = _string(item.get("url")) or _string(item.get("external_url"))
    summary = plain_text(_string(item.get("summary")))
    if item.get("content_html"):
        content = html_to_text(_string(item["content_html"]))
    else:
        content = plain_text(_string(item.get("content_text")))
    authors = item.get("authors")
    if not isinstance(authors, list):
        authors = [item["author"]] if isinstance(item.get("author"), dict) else []
    author = next((_string(a["name"]) for a in authors if isinstance(a, dict) and _string(a.get("name"))), None)
    return Entry(
        feed_url=feed_url,
        outlet=outlet,
        url=resolve_link(base, link, drop),
        title=plain_text(_string(item.get("title"))),
        summary=summary,
        guid=_string(item.get("id")) or None,
        published=_iso_utc(item.get("date_published") or item.get("date_modified")),
        content="" if content == summary else content,
        language=_line(item.get("language")) or language,
        author=author,
    )


def _iso_utc(value: object) -> datetime | None:
    """JSON Feed dates are RFC 3339; naive ones are taken as UTC."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p pre section table td th tr ul".split()
)
_SKIPPED_TAGS = frozenset({"script", "style", "template", "noscript"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_COMMENTS = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)


class _TextCollector(HTMLParser):
    """Collects visible text; block elements become line breaks so sentences never run together."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment, one line per block, whitespace collapsed."""
    if "<" not in markup:
        return plain_text(html.unescape(markup))
    collector = _TextCollector()
    collector.feed(_COMMENTS.sub("", markup))
    collector.close()
    return plain_text("".join(collector.parts))


def plain_text(text: str) -> str:
    """Collapse runs of spaces inside lines and drop empty lines."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)
