"""The Russian/English and Ukrainian/English pairs (testdata/pairs_ru_uk_en.yaml) are what their header says:
English items of the feed snapshot against Cyrillic reports written for the project, labelled same/different."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
import yaml

from tests.conftest import CORPUS_ABSENT, missing
from tests.stories.snapshot import SNAPSHOT

TESTDATA = Path(__file__).parent / "testdata"
PAIRS_YAML = TESTDATA / "pairs_ru_uk_en.yaml"


@pytest.fixture(scope="module")
def pairs() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(PAIRS_YAML.read_text(encoding="utf-8"))
    assert isinstance(loaded, list)
    return loaded


def _when(side: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(side["published"])


def _cyrillic_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum("\u0400" <= c <= "\u04ff" for c in letters) / len(letters)


def test_the_pairs_are_labelled_with_unique_ids_and_both_languages(pairs: list[dict[str, Any]]) -> None:
    ids = [pair["id"] for pair in pairs]
    assert len(ids) == len(set(ids))
    assert {pair["label"] for pair in pairs} == {"same", "different"}
    counts = Counter((pair["b"]["lang"], pair["label"]) for pair in pairs)
    assert set(counts) == {("ru", "same"), ("ru", "different"), ("uk", "same"), ("uk", "different")}
    for pair in pairs:
        assert set(pair) == {"id", "label", "a", "b"}
        assert pair["a"]["lang"] == "en"
        for side in (pair["a"], pair["b"]):
            assert {"lang", "outlet", "url", "title", "text", "published"} <= set(side)
            assert all(isinstance(side[key], str) and side[key].strip() for key in ("title", "text", "outlet", "url"))
        assert len(pair["a"]["text"]) <= 602


def test_every_written_report_is_cyrillic_and_dated_as_the_label_says(pairs: list[dict[str, Any]]) -> None:
    for pair in pairs:
        b = pair["b"]
        assert b["url"].startswith("https://") and ".example.org/" in b["url"], pair["id"]
        assert _cyrillic_share(b["title"]) >= 0.8, pair["id"]
        assert _cyrillic_share(b["text"]) >= 0.9, pair["id"]
        assert 300 <= len(b["text"]) <= 700, pair["id"]
        if b["lang"] == "uk":
            assert any(c in b["text"] for c in "іїєґ"), pair["id"]
        else:
            assert not any(c in b["text"] for c in "іїєґ") and any(c in b["text"] for c in "ыэъ"), pair["id"]
        gap = abs(_when(b) - _when(pair["a"]))
        assert gap <= (timedelta(hours=24) if pair["label"] == "same" else timedelta(hours=48)), pair["id"]


def test_every_english_side_is_an_item_of_the_snapshot_and_none_is_held_out(pairs: list[dict[str, Any]]) -> None:
    if not SNAPSHOT.is_dir():
        missing(f"{CORPUS_ABSENT} {SNAPSHOT}")
    held_out = (TESTDATA / "stories_holdout.yaml").read_text(encoding="utf-8")
    titles: dict[tuple[str, str], str] = {}
    for path in sorted(SNAPSHOT.glob("*.xml")):
        for entry in feedparser.parse(path.read_bytes()).entries:
            titles[(path.name, str(entry.get("link", "")))] = str(entry.get("title", ""))
    for pair in pairs:
        a = pair["a"]
        assert (a["feed"], a["url"]) in titles, pair["id"]
        assert titles[(a["feed"], a["url"])] == a["title"], pair["id"]
        assert a["url"] not in held_out, pair["id"]
