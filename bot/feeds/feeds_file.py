"""The user's feed list on disk: adding OPML imports to feeds.yaml without losing what is there."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.config import FeedConfig, format_duration
from bot.config_file import load_feeds_file


def feed_record(feed: FeedConfig) -> dict[str, object]:
    """A feed as it is written in YAML: only the keys that differ from the defaults."""
    record: dict[str, object] = {"url": feed.url}
    if feed.name:
        record["name"] = feed.name
    if feed.every is not None:
        record["every"] = format_duration(feed.every)
    defaults = FeedConfig(url=feed.url)
    if feed.backlog != defaults.backlog:
        record["backlog"] = feed.backlog
    if feed.fulltext != defaults.fulltext:
        record["fulltext"] = feed.fulltext
    return record


def add_feeds(path: Path, new: list[FeedConfig], already: set[str]) -> list[FeedConfig]:
    """Append feeds whose URL is neither in `path` nor in `already`; returns those added.

    The file is rewritten through a temporary file, so a crash never leaves it half written.
    """
    existing = load_feeds_file(path) if path.exists() else []
    known = already | {feed.url for feed in existing}
    added = [feed for feed in new if feed.url not in known]
    if added:
        text = yaml.safe_dump([feed_record(f) for f in existing + added], sort_keys=False, allow_unicode=True)
        temporary = path.with_suffix(path.suffix + ".tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    return added
