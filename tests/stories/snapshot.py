"""The real 24-outlet feed snapshot with the labelled development set (testdata/snapshot_devset.yaml).

Every item of the snapshot is fed to the story index (unlabelled ones too, as a desk would see them); only
the labelled ones are scored. `feed_orders` gives three orders in which the feeds might answer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from bot.model import Entry
from bot.parse.feed import FeedParseError, parse_feed
from bot.parse.urls import canonical_url

DEVSET_YAML = Path(__file__).parent / "testdata" / "snapshot_devset.yaml"
SNAPSHOT = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "feeds" / "news_snapshot_2026-02-17"
FETCHED_AT = datetime(2026, 2, 18, 2, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SnapshotFeed:
    """One feed of the snapshot: its name (the file's stem before "__") and its entries in feed order."""

    name: str
    entries: tuple[Entry, ...]


def load_feeds(folder: Path = SNAPSHOT) -> list[SnapshotFeed]:
    """Every readable feed of the snapshot, by name."""
    feeds = []
    for path in sorted(folder.glob("*.xml")):
        name = path.stem.split("__")[0]
        try:
            parsed = parse_feed(path.read_bytes(), feed_url=path.resolve().as_uri(), name=name)
        except FeedParseError:
            continue
        feeds.append(SnapshotFeed(name, tuple(parsed.entries)))
    return feeds


def item_key(feed: str, entry: Entry) -> str:
    return f"{feed} {entry.url}"


def load_labels(path: Path = DEVSET_YAML) -> dict[str, str]:
    """Event id per labelled item key (feed name and link). The links were written as the parser gave them
    then; they are canonicalised as the parser does now (tracking parameters it has learnt to drop since)."""
    labels = {}
    for event in yaml.safe_load(path.read_text(encoding="utf-8")):
        for item in event["items"]:
            labels[f"{item['feed']} {canonical_url(item['link'])}"] = event["event"]
    return labels


def canonical(entries: list[tuple[str, Entry]]) -> list[tuple[str, Entry]]:
    """The order entries are filed in: publication time (undated ones as fetched), then feed and link."""
    return sorted(entries, key=lambda item: (item[1].published or FETCHED_AT, item[0], item[1].url))


def feed_orders(feeds: list[SnapshotFeed], seed: int = 7) -> dict[str, list[SnapshotFeed]]:
    """Three orders the feeds might answer in: by name, reversed, shuffled."""
    shuffled = list(feeds)
    random.Random(seed).shuffle(shuffled)
    return {"by name": list(feeds), "reversed": list(reversed(feeds)), "shuffled": shuffled}
