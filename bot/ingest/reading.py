"""Reading new entries once, before they are stored: the rules they match, their story features, their credits.

All of it is pure CPU work on one entry at a time, so the filer runs it in a worker thread before its
filing transaction begins; the transaction then only files and stores.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from bot.ingest.story_window import StoryWindow
from bot.metrics import MATCH_SECONDS, STAGE_SECONDS
from bot.model import Credit, Entry, Match
from bot.rulebook.book import Rules
from bot.stories.attribution import entry_credits
from bot.stories.features import Observed


@dataclass(frozen=True, slots=True)
class ReadEntry:
    """A new entry as read: the rules it matches, what the story index needs, the credits in its text, and
    whether it may alert (on a feed's first poll only the newest few may)."""

    entry: Entry
    matches: tuple[Match, ...]
    observed: Observed
    credits: tuple[Credit, ...]
    may_alert: bool


def read_entries(
    rules: Rules, window: StoryWindow, entries: Sequence[Entry], alertable: Collection[str]
) -> list[ReadEntry]:
    """Read each entry once; `alertable` holds the keys of the entries that may alert."""
    started = time.thread_time()
    with MATCH_SECONDS.time():
        found = [tuple(rules.matcher.match(entry)) for entry in entries]
    meaningful = [bool(matches) and entry.key in alertable for entry, matches in zip(entries, found, strict=True)]
    observed = window.observe(rules, entries, meaningful)
    analysed = [
        ReadEntry(entry, matches, seen, entry_credits(entry), entry.key in alertable)
        for entry, matches, seen in zip(entries, found, observed, strict=True)
    ]
    STAGE_SECONDS.labels("read").inc(time.thread_time() - started)
    return analysed
