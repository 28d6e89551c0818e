"""Full text: a feed that carries only a teaser still matches on its article's main text, fetched once,
with the page's boilerplate left out."""

from __future__ import annotations

import sqlite3
from html import escape
from pathlib import Path

from bot import clock
from tests.feedserver import SEEDS, FeedServer, Item
from tests.ingest.test_poll_e2e import poll_once, write_config


def article_page(title: str, body: str, canonical: str) -> str:
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in body.split("\n\n") if p.strip())
    return (
        f"<html><head><title>{escape(title)}</title><link rel='canonical' href='{canonical}'>"
        "<meta property='og:site_name' content='Rewrite Desk'></head><body>"
        "<nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        f"<article><h1>{escape(title)}</h1>{paragraphs}</article>"
        "<aside><h3>Previous Article</h3><p>Cara Delevingne Steps Out Makeup-Free After London Show</p>"
        "<h3>Next Article</h3><p>Prison Tragedy Prompts Security Probe</p></aside>"
        "<section class='comments'><h3>Leave a Comment</h3><form><textarea></textarea></form></section>"
        "</body></html>"
    )


async def test_teaser_feed_matches_on_extracted_article(feed_server: FeedServer, tmp_path: Path) -> None:
    rewrite = sorted(SEEDS.glob("*.txt"))[0].read_text(encoding="utf-8")
    title, _, body = rewrite.partition("\n")
    body = body.split("Previous Article")[0]
    feed_server.pages["estonia-leader.html"] = article_page(title, body, "https://rewrite.example/estonia-leader")
    teaser = Item(
        "teaser-1", title.strip(), feed_server.url("estonia-leader.html"), "Read the full story.", clock.now()
    )
    feed_server.feeds["teasers.xml"] = [teaser]
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'n.db'}", feed_server.url("teasers.xml"), backlog=1)
    config.write_text(config.read_text().replace("fulltext: false", "fulltext: true"))

    alerts = {a["rule"]: a for a in await poll_once(config)}
    assert {"troop-deployment", "kaja-kallas"} <= set(alerts)
    troops = alerts["troop-deployment"]
    assert troops["url"] == "https://rewrite.example/estonia-leader"
    assert troops["story"]["origin"] == "RIA News"
    spans = [span for clause in troops["clauses"] for span in clause["spans"]]
    assert spans and all(span["field"] in ("title", "body") for span in spans)
    assert await poll_once(config) == []
    assert feed_server.requests["estonia-leader.html"] == 1
    with sqlite3.connect(tmp_path / "n.db") as db:
        ((content,),) = db.execute("SELECT content FROM entries").fetchall()
    assert "Kaja Kallas refrained from guaranteeing" in content
    for boilerplate in ("Previous Article", "Leave a Comment", "Delevingne", "Home"):
        assert boilerplate not in content


async def test_first_poll_fetches_pages_only_for_entries_that_may_alert(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    now = clock.now()
    for n in range(3):
        feed_server.pages[f"old-{n}.html"] = article_page(f"Old {n}", "Old news. " * 40, f"https://o.example/{n}")
    feed_server.pages["new.html"] = article_page("New", "New news. " * 40, "https://o.example/new")
    old = [Item(f"o{n}", f"Old {n}", feed_server.url(f"old-{n}.html"), "Teaser.", now) for n in range(3)]
    feed_server.feeds["teasers.xml"] = old
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'n.db'}", feed_server.url("teasers.xml"), backlog=0)
    config.write_text(config.read_text().replace("fulltext: false", "fulltext: true"))
    await poll_once(config)
    assert not any(path.startswith("old-") for path in feed_server.requests)
    feed_server.feeds["teasers.xml"] = [Item("n1", "New", feed_server.url("new.html"), "Teaser.", now), *old]
    await poll_once(config)
    assert feed_server.requests["new.html"] == 1
    assert not any(path.startswith("old-") for path in feed_server.requests)
