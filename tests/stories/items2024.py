"""The three world feeds of 2024-10-18 from the RSS-Link-Database-2024 (corpus feeds/items_2024) with their
labelled stories (testdata/items_2024_devset.yaml), for the clustering tests and bench/stories.py.

Only the files of 2024-10-18 are named here: the files of 2024-02-26 and 2024-02-27 beside them are held back
for acceptance, so this module never globs the folder. Every item of the three files is labelled.

The files are markdown, one block per item:

    ## <title>
     - [<link>](<link>)
     - RSS feed: $source
     - date published: <ISO 8601>

    <summary paragraph(s)>

under a first line "# Source:<outlet>, URL:<feed url>, language:<code>". The parser reads them line by line
(linear time, no regular expressions).
"""

from __future__ import annotations

import html
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from bot.model import Entry
from bot.parse.urls import canonical_url

ROOT = Path(__file__).resolve().parents[2]
ITEMS_2024 = ROOT.parent / "shared" / "corpus" / "feeds" / "items_2024"
DEVSET_YAML = Path(__file__).parent / "testdata" / "items_2024_devset.yaml"
FILES = {
    "nbc_world": "2024-10-18__https...feeds.nbcnews.com.nbcnews.public.world_entries.md",
    "skynews_world": "2024-10-18__https...feeds.skynews.com.feeds.rss.world.xml_entries.md",
    "washingtonpost_world": (
        "2024-10-18__https...feeds.washingtonpost.com.rss.world.itid.lk_inline_manual_36_entries.md"
    ),
}
"""Feed name -> file in ITEMS_2024: the development files, and only those."""
SEEN_AT = datetime(2024, 10, 19, tzinfo=UTC)
"""A stand-in for when the items were seen (every item carries its publication time, so it is never used)."""

_SOURCE, _URL, _LANGUAGE = "# Source:", ", URL:", ", language:"
_TITLE, _LINK, _RSS, _DATE = "## ", " - [", " - RSS feed:", " - date published:"


class ItemsFormatError(ValueError):
    """A file that does not follow the items_2024 markdown layout."""


@dataclass(frozen=True, slots=True)
class ItemsFeed:
    """One feed of the set: its name (a key of FILES) and its entries in the order the file lists them."""

    name: str
    entries: tuple[Entry, ...]


@dataclass(slots=True)
class _Item:
    title: str
    link: str = ""
    published: datetime | None = None
    summary: list[str] | None = None


def _header(line: str, where: str) -> tuple[str, str]:
    """The outlet and the feed URL of the first line."""
    if not line.startswith(_SOURCE):
        raise ItemsFormatError(f"{where}: the first line is not '{_SOURCE}...'")
    outlet, url_sep, rest = line[len(_SOURCE) :].partition(_URL)
    feed_url, lang_sep, _ = rest.rpartition(_LANGUAGE)
    if not url_sep or not lang_sep or not outlet.strip() or not feed_url.strip():
        raise ItemsFormatError(f"{where}: the first line lacks the outlet, URL or language")
    return outlet.strip(), feed_url.strip()


def _entry(item: _Item, outlet: str, feed_url: str, where: str) -> Entry:
    if not item.link or item.published is None:
        raise ItemsFormatError(f"{where}: item {item.title!r} lacks its link or its publication date")
    return Entry(
        feed_url=feed_url,
        outlet=outlet,
        url=canonical_url(item.link),
        title=html.unescape(item.title).strip(),
        summary=html.unescape(" ".join(item.summary or ())).strip(),
        published=item.published,
        language="en",
    )


def parse_items(text: str, where: str = "<text>") -> tuple[Entry, ...]:
    """The entries of one items_2024 markdown file, in file order."""
    lines = text.splitlines()
    if not lines:
        raise ItemsFormatError(f"{where}: empty file")
    outlet, feed_url = _header(lines[0], where)
    entries: list[Entry] = []
    item: _Item | None = None
    for number, line in enumerate(lines[1:], start=2):
        if line.startswith(_TITLE):
            if item is not None:
                entries.append(_entry(item, outlet, feed_url, where))
            item = _Item(line[len(_TITLE) :].strip())
        elif not line.strip():
            continue
        elif item is None:
            raise ItemsFormatError(f"{where}:{number}: text before the first item")
        elif line.startswith(_LINK) and not item.link:
            link, sep, _ = line[len(_LINK) :].partition("](")
            if not sep or not link.strip():
                raise ItemsFormatError(f"{where}:{number}: a link line without '[link](link)'")
            item.link = link.strip()
        elif line.startswith(_RSS):
            continue
        elif line.startswith(_DATE) and item.published is None:
            try:
                published = datetime.fromisoformat(line[len(_DATE) :].strip())
            except ValueError as exc:
                raise ItemsFormatError(f"{where}:{number}: {exc}") from None
            item.published = published if published.tzinfo else published.replace(tzinfo=UTC)
        else:
            item.summary = [*(item.summary or ()), line.strip()]
    if item is not None:
        entries.append(_entry(item, outlet, feed_url, where))
    return tuple(entries)


def load_feeds(folder: Path = ITEMS_2024) -> list[ItemsFeed]:
    """The three feeds of 2024-10-18, by name."""
    return [
        ItemsFeed(name, parse_items((folder / file).read_text(encoding="utf-8"), file))
        for name, file in sorted(FILES.items())
    ]


def item_key(feed: str, entry: Entry) -> str:
    return f"{feed} {entry.url}"


def load_labels(path: Path = DEVSET_YAML) -> dict[str, str]:
    """Story id per item key (feed name and canonical link); an item labelled twice is an error."""
    labels: dict[str, str] = {}
    for story in yaml.safe_load(path.read_text(encoding="utf-8")):
        for item in story["items"]:
            key = f"{item['feed']} {canonical_url(item['link'])}"
            if key in labels:
                raise ValueError(f"{key} is labelled {labels[key]!r} and {story['event']!r}")
            labels[key] = story["event"]
    return labels


def load_titles(path: Path = DEVSET_YAML) -> dict[str, str]:
    """The title written beside each labelled item key (for readability; checked against the files)."""
    return {
        f"{item['feed']} {canonical_url(item['link'])}": item["title"]
        for story in yaml.safe_load(path.read_text(encoding="utf-8"))
        for item in story["items"]
    }


def unmatched(feeds: Iterable[ItemsFeed], labels: dict[str, str]) -> tuple[list[str], list[str]]:
    """(labelled keys absent from the files, items of the files left unlabelled)."""
    keys = {item_key(feed.name, entry) for feed in feeds for entry in feed.entries}
    return sorted(set(labels) - keys), sorted(keys - set(labels))


def load_set(folder: Path = ITEMS_2024, path: Path = DEVSET_YAML) -> tuple[list[ItemsFeed], dict[str, Hashable]]:
    """The feeds and the gold story of every item; raises ValueError unless the labels and the items match
    one to one."""
    feeds, labels = load_feeds(folder), load_labels(path)
    absent, unlabelled = unmatched(feeds, labels)
    if absent or unlabelled:
        raise ValueError(f"labelled but not in the files: {absent}; in the files but unlabelled: {unlabelled}")
    return feeds, dict(labels)


def canonical(entries: list[tuple[str, Entry]]) -> list[tuple[str, Entry]]:
    """The order entries are filed in: publication time, then key."""
    return sorted(entries, key=lambda item: (item[1].published or SEEN_AT, item[0]))
