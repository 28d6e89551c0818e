"""OPML import and export of the feed list, the format every feed reader trades subscriptions in.

xml.etree rather than listparser: listparser only reads, and drops the attributes we need to
round-trip (`every`, written as a namespaced newsbot:every attribute other readers ignore).
Folders are flattened: newsbot has no folders, its rules decide what matters.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from pydantic import ValidationError

from bot import clock
from bot.config import FeedConfig, format_duration
from bot.model import outlet_name, site_name

NAMESPACE = "https://github.com/newsbot/newsbot/opml"
_EVERY = f"{{{NAMESPACE}}}every"
class OpmlError(ValueError):
    """The file is not OPML at all; str(error) names the file and the reason."""


@dataclass(frozen=True, slots=True)
class OpmlImport:
    """Feeds read from an OPML file, and one sentence per outline that had to be skipped."""

    feeds: list[FeedConfig]
    skipped: list[str]


def read_opml(text: str | bytes, source: str) -> OpmlImport:
    """Feeds of an OPML document; `source` (the file name) prefixes every message."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as error:
        line = error.position[0]
        raise OpmlError(f"{source}: not valid OPML (broken XML at line {line})") from None
    if root.tag != "opml" or root.find("body") is None:
        raise OpmlError(f"{source}: not an OPML file (no <opml><body>)")
    feeds: dict[str, FeedConfig] = {}
    skipped: list[str] = []
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not url:
            continue
        if url.startswith("feed://"):
            url = "http://" + url.removeprefix("feed://")
        label = (outline.get("title") or outline.get("text") or "").strip()
        name = label if label and label not in (url, outlet_name(None, None, url), site_name("", None, url)) else None
        raw = {"url": url, "name": name, "every": outline.get(_EVERY)}
        try:
            feed = FeedConfig.model_validate({k: v for k, v in raw.items() if v is not None})
        except ValidationError as error:
            reason = str(error.errors()[0]["msg"]).removeprefix("Value error, ")
            skipped.append(f"{source}: skipped {url}: {reason}")
            continue
        feeds.setdefault(feed.url, feed)
    return OpmlImport(feeds=list(feeds.values()), skipped=skipped)


def write_opml(
    feeds: list[FeedConfig],
    feed_titles: Mapping[str, str | None] | None = None,
    title: str = "newsbot feeds",
    now: datetime | None = None,
    as_written: Callable[[str], str] = str,
) -> str:
    """An OPML 2.0 document of `feeds`, readable by any feed reader and by read_opml. Each feed is titled with
    its outlet name (`outlet_name`: the configured name, else its own name from `feed_titles` by URL, as last
    polled, else its address); read_opml takes a bare address or host back as no name, so the feed's own name
    keeps naming it. A URL goes out `as_written` in the config (`${API_KEY}` rather than the key)."""
    ET.register_namespace("newsbot", NAMESPACE)
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now or clock.now(), usegmt=True)
    body = ET.SubElement(root, "body")
    for feed in feeds:
        label = outlet_name(feed.name, (feed_titles or {}).get(feed.url), feed.url)
        outline = ET.SubElement(body, "outline", type="rss", text=label, title=label, xmlUrl=as_written(feed.url))
        if feed.every is not None:
            outline.set(_EVERY, format_duration(feed.every))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


