"""News-like items for the pipeline bench: real headlines and sentences, recombined into events told by outlets.

Material: the titles and summary sentences of ../shared/corpus/feeds/news_snapshot_2026-02-17 (a small
built-in vocabulary when the corpus is absent). An event is a headline made of half a real headline and a
few words walked through the snapshot's own word pairs, three sentences walked the same way, and one
naming a person and a number. It is reported by one outlet, or by two to eight (about 45% of events),
each report dropping a title word and re-ordering the sentences, a few minutes to an hour apart. So the
story index sees what it sees in real feeds: mostly single reports, some multi-outlet stories, copies and
near-copies, a vocabulary that keeps growing, and different events that share words but not whole
sentences (200,000 events drawn from the snapshot's 2,000 real sentences would share them by the
hundred, which real events do not, and stories would swallow each other).
"""

from __future__ import annotations

import itertools
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.parse.feed import FeedParseError, parse_feed  # noqa: E402

SNAPSHOT = ROOT.parent / "shared" / "corpus" / "feeds" / "news_snapshot_2026-02-17"
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_FALLBACK_WORDS = (
    "minister troops border talks election market storm court energy ceasefire summit parliament strike "
    "protest budget inflation drought flood missile drone vaccine tariff sanctions refinery pipeline harbour"
).split()


@dataclass(frozen=True, slots=True)
class Material:
    headlines: list[str]
    sentences: list[str]
    names: list[str]
    follows: dict[str, list[str]]


@dataclass(frozen=True, slots=True)
class Item:
    """One report: an item of one feed."""

    event: int
    title: str
    summary: str
    published: datetime
    guid: str


def load_material(folder: Path = SNAPSHOT) -> Material:
    """Headlines, sentences and capitalised names of the snapshot, or generated ones without the corpus."""
    headlines, sentences = [], []
    for path in sorted(folder.glob("*.xml")) if folder.is_dir() else []:
        try:
            parsed = parse_feed(path.read_bytes(), feed_url=path.resolve().as_uri(), name=path.stem)
        except FeedParseError:
            continue
        for entry in parsed.entries:
            if len(entry.title.split()) >= 4:
                headlines.append(entry.title)
            sentences += [s for s in _SENTENCE.split(entry.summary) if 40 <= len(s) <= 300]
    if not headlines or not sentences:
        rng = random.Random(1)
        headlines = [" ".join(rng.choices(_FALLBACK_WORDS, k=8)).capitalize() for _ in range(500)]
        sentences = [" ".join(rng.choices(_FALLBACK_WORDS, k=18)).capitalize() + "." for _ in range(1000)]
    names = sorted({w for h in headlines for w in h.split()[1:] if w[:1].isupper() and w.isalpha() and len(w) > 3})
    follows: dict[str, list[str]] = {}
    for sentence in sentences:
        words = sentence.rstrip(".!?").split()
        for first, second in itertools.pairwise(words):
            follows.setdefault(first, []).append(second)
    return Material(headlines, sentences, names, follows)


class NewsGenerator:
    """Events and their reports, the same for the same seed."""

    def __init__(self, material: Material, seed: int = 20260217) -> None:
        self.material = material
        self.rng = random.Random(seed)
        self.events = 0

    def _event(self) -> tuple[str, list[str]]:
        rng, material = self.rng, self.material
        first = rng.choice(material.headlines).split()
        title = " ".join(first[: len(first) // 2]) + " " + self._walk(4, 7).rstrip(".")
        person = f"{rng.choice(material.names)} {rng.choice(material.names)}"
        said = f"{person} said {rng.randint(2, 9000)} people were affected by the decision on {rng.randint(1, 28)} May."
        return title, [self._walk(12, 20), self._walk(12, 20), self._walk(12, 20), said]

    def _walk(self, shortest: int, longest: int) -> str:
        """A sentence of `shortest` to `longest` words, each one that follows the last somewhere in the
        snapshot."""
        follows = self.material.follows
        word = self.rng.choice(list(follows))
        walked = [word]
        length = self.rng.randint(shortest, longest)
        while len(walked) < length:
            word = self.rng.choice(follows.get(word) or list(follows))
            walked.append(word)
        return " ".join(walked).capitalize() + "."

    def _reports(self) -> int:
        count = 1
        while count < 8 and self.rng.random() < 0.45:
            count += 1
        return count

    def items(self, count: int, start: datetime, span: timedelta) -> Iterator[Item]:
        """`count` reports of new events published between `start` and `start + span`, in event order."""
        made = 0
        while made < count:
            self.events += 1
            title, sentences = self._event()
            when = start + span * self.rng.random()
            for report in range(min(self._reports(), count - made)):
                words = title.split()
                if report and len(words) > 4:
                    del words[self.rng.randrange(1, len(words))]
                body = list(sentences)
                if report:
                    self.rng.shuffle(body)
                    body.pop()
                published = when + timedelta(minutes=self.rng.randint(0, 60) * report)
                yield Item(self.events, " ".join(words), " ".join(body), published, f"ev{self.events}-r{report}")
                made += 1


def rss_item(base: str, item: Item) -> str:
    """One RSS 2.0 <item> of this report, its link under `base`."""
    return (
        f"<item><title>{escape(item.title)}</title><link>{base}/{item.guid}</link>"
        f"<guid isPermaLink=\"false\">{item.guid}</guid><pubDate>{format_datetime(item.published)}</pubDate>"
        f"<description>{escape(item.summary)}</description></item>"
    )


def rss(title: str, base: str, items: list[Item]) -> bytes:
    """An RSS 2.0 document of these items."""
    parts = [rss_item(base, item) for item in items]
    channel = f"<channel><title>{escape(title)}</title><link>{base}</link>{''.join(parts)}</channel>"
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0">{channel}</rss>'.encode()
