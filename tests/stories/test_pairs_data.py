"""tests/stories/testdata/pairs_de_en.jsonl, the German/English pairs beside the corpus's dev_de_en.jsonl (its
source and selection: pairs_de_en.md): every line a well-formed pair, labelled by the Overall rule, each pair once,
none of them one of dev_de_en.jsonl's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import corpus_path

PAIRS = Path(__file__).parent / "testdata" / "pairs_de_en.jsonl"
EXCERPT = 800


def _pairs() -> list[dict[str, Any]]:
    return [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines()]


def _label(overall: float) -> str | None:
    """The labels of dev_de_en.jsonl: same story at Overall <= 1.5, different at >= 3.0, none in between."""
    return "same" if overall <= 1.5 else "different" if overall >= 3.0 else None


def test_every_line_is_a_labelled_german_english_pair() -> None:
    pairs = _pairs()
    assert {p["label"] for p in pairs} == {"same", "different"}
    for pair in pairs:
        assert set(pair) == {"pair_id", "overall", "label", "a", "b"}
        assert pair["label"] == _label(pair["overall"]), pair["pair_id"]
        assert f"{pair['a']['id']}_{pair['b']['id']}" == pair["pair_id"]
        assert {pair["a"]["lang"], pair["b"]["lang"]} == {"de", "en"}, pair["pair_id"]
        for article in (pair["a"], pair["b"]):
            assert set(article) == {"id", "lang", "url", "title", "text", "publish_date"}
            assert article["url"].startswith("http") and article["title"].strip()
            assert article["text"].strip() and len(article["text"]) <= EXCERPT, article["id"]


def test_no_pair_twice_and_none_of_the_corpus_dev_pairs() -> None:
    ids = [p["pair_id"] for p in _pairs()]
    assert len(ids) == len(set(ids))
    dev = corpus_path("pairs", "semeval2022_task8", "dev_de_en.jsonl")
    dev_ids = {json.loads(line)["pair_id"] for line in dev.read_text(encoding="utf-8").splitlines() if line.strip()}
    assert len(dev_ids) == 58
    assert not dev_ids & set(ids)


def test_the_rule_labels_the_boundaries() -> None:
    assert [_label(x) for x in (1.0, 1.5, 2.0, 2.5, 3.0, 4.0)] == ["same", "same", None, None, "different", "different"]
