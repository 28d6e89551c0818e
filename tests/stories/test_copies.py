"""Copies of one article: same canonical URL, same normalised body, or a near-duplicate body."""

from __future__ import annotations

from bot.stories.copies import CopyIndex, CopyReason, body_digest, containment, shingles
from tests.conftest import SEEDS

MENAFN = (SEEDS / "001_b211070bd60f31df.txt").read_text(encoding="utf-8")
REWRITE = (SEEDS / "000_3955c0ba8186baac.txt").read_text(encoding="utf-8")


def test_same_canonical_url_is_one_article() -> None:
    index = CopyIndex()
    index.add(1, "https://menafn.com/a", MENAFN)
    match = index.add(2, "https://menafn.com/a", "A different summary line.")
    assert match is not None and (match.original, match.reason) == (1, CopyReason.URL)


def test_body_equal_up_to_case_and_punctuation_is_one_article() -> None:
    index = CopyIndex()
    index.add(1, "https://a.example/1", "Kallas said: no promises!")
    match = index.add(2, "https://b.example/2", "KALLAS SAID no promises")
    assert match is not None and match.reason is CopyReason.BODY
    assert body_digest("Déjà vu, again.") == body_digest("deja VU again")


def test_reprint_with_boilerplate_is_a_copy() -> None:
    index = CopyIndex()
    index.add(1, "https://menafn.com/a", MENAFN)
    reprint = MENAFN + "\n\nPrevious Article\nNext Article\nLeave a Comment\nCopyright Big News Network."
    match = index.add(2, "https://bignewsnetwork.example/b", reprint)
    assert match is not None and match.original == 1 and match.reason is CopyReason.NEAR
    assert match.similarity > 0.95


def test_truncated_reprint_is_a_copy() -> None:
    index = CopyIndex()
    index.add(1, "https://menafn.com/a", MENAFN)
    first_paragraphs = " ".join(MENAFN.split()[:120])
    match = index.add(2, "https://aggregator.example/b", first_paragraphs)
    assert match is not None and match.original == 1


def test_rewrite_of_the_same_event_is_not_a_copy() -> None:
    index = CopyIndex()
    index.add(1, "https://menafn.com/a", MENAFN)
    assert index.add(2, "https://rewrite.example/b", REWRITE) is None
    assert containment(shingles(MENAFN, 4), shingles(REWRITE, 4)) < 0.2


def test_short_texts_are_matched_only_when_equal() -> None:
    index = CopyIndex()
    index.add(1, "https://a.example/1", "Estonia summons Russian envoy over GPS jamming")
    assert index.add(2, "https://b.example/2", "Estonia summons Russian envoy over drone flights") is None


def test_removed_article_is_no_longer_an_original() -> None:
    index = CopyIndex()
    index.add(1, "https://menafn.com/a", MENAFN)
    index.remove(1)
    assert 1 not in index and len(index) == 0
    assert index.find("https://menafn.com/a", MENAFN) is None
    index.add(2, "https://menafn.com/a", MENAFN)
    assert index.find("https://other.example/c", MENAFN) is not None
