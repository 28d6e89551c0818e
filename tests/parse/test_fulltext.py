"""Main text, canonical URL and site name from article pages: a seed page with furniture, and real pages."""

from __future__ import annotations

import gzip
import html
import json
import re
from pathlib import Path

from bot.parse.fulltext import extract_article
from tests.conftest import SEEDS, corpus_path, missing


def _seed_page() -> tuple[bytes, str]:
    """Seed 000 as a news site serves it: navigation, article, previous/next links, comment form, footer."""
    text = (SEEDS / "000_3955c0ba8186baac.txt").read_text(encoding="utf-8")
    title, _, rest = text.partition("\n")
    body = rest.split("Previous Article")[0]
    paragraphs = "".join(f"<p>{html.escape(p.strip())}</p>" for p in body.split("\n") if p.strip())
    page = f"""<!doctype html><html lang="en-CA"><head><meta charset="utf-8"><title>{html.escape(title)} - CNT</title>
<link rel="canonical" href="/world/estonias-leader-faces-questions/">
<meta property="og:site_name" content="Canada News Today">
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li><li><a href="/sport">Sport</a></li></ul></nav>
<main><article><h1>{html.escape(title)}</h1><div class="entry-content">{paragraphs}</div></article>
<div class="post-navigation"><div class="nav-previous"><span>Previous Article</span>
<a href="/a">Cara Delevingne Steps Out Makeup-Free and Casual After London Show</a></div>
<div class="nav-next"><span>Next Article</span>
<a href="/b">Mas d'Enric Prison Tragedy: Inmate Killings Prompt Security Probe</a></div></div>
<div id="comments" class="comments-area"><h3 id="reply-title">Leave a Comment</h3>
<form id="commentform" class="comment-form"><p>Write a Comment</p><textarea name="comment"></textarea></form></div>
</main><footer><p>Copyright 2024 Canada News Today. All rights reserved.</p></footer></body></html>"""
    return page.encode("utf-8"), "https://canadanewstoday.example/world/estonias-leader-faces-questions/?utm_source=rss#top"


def test_seed_page_keeps_the_article_and_drops_page_furniture() -> None:
    page, url = _seed_page()
    article = extract_article(page, url)
    assert article is not None
    assert "Kaja Kallas refrained from guaranteeing" in article.text
    assert "[Source attribution: RIA News]" in article.text
    for furniture in ("Previous Article", "Next Article", "Leave a Comment", "Write a Comment", "Cara Delevingne",
                      "All rights reserved", "Sport"):
        assert furniture not in article.text
    assert article.url == "https://canadanewstoday.example/world/estonias-leader-faces-questions/"
    assert article.site_name == "Canada News Today"
    assert article.title == "Estonia’s Leader Faces Questions on Troop Involvement and Alliance Commitments"
    assert article.language == "en"


def test_page_without_article_text_gives_none() -> None:
    page = b"<html><body><nav><a href='/'>Home</a></nav><p>Subscribe now.</p></body></html>"
    assert extract_article(page, "https://example.org/") is None


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def _expected_texts(path: Path) -> list[str]:
    """Every parser version's expected body (summary, headlines, paragraphs) for one publisher."""
    texts = []
    for version in json.loads(path.read_text(encoding="utf-8")).values():
        body = version.get("body") or {}
        parts = list(body.get("summary", []))
        for section in body.get("sections", []):
            parts += section.get("headline", []) + section.get("paragraphs", [])
        texts.append("\n".join(parts))
    return [t for t in texts if t.strip()]


def _pages() -> list[Path]:
    folder = corpus_path("pages", "fundus")
    return sorted(folder.glob("*/*.html.gz"))


def test_real_pages_match_their_expected_extractions() -> None:
    """Word recall and precision against fundus's hand-checked extractions (best of its parser versions)."""
    scores = []
    for page in _pages():
        expected = _expected_texts(page.parent / f"{page.name.rsplit('_', 3)[0]}.json")
        article = extract_article(gzip.decompress(page.read_bytes()), f"https://publisher.example/{page.stem}")
        assert article is not None, page.name
        got = _words(article.text)
        got_set = set(got)
        best = (0.0, 0.0)
        for text in expected:
            want = _words(text)
            want_set = set(want)
            recall = sum(w in got_set for w in want) / len(want)
            precision = sum(w in want_set for w in got) / len(got)
            best = max(best, (recall, precision))
        assert best[0] >= 0.6, page.name
        scores.append(best)
    if not scores:
        missing("no fundus pages present")
    assert sum(r for r, _ in scores) / len(scores) >= 0.95
    assert sum(p for _, p in scores) / len(scores) >= 0.95
