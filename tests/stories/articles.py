"""The labelled articles of testdata/stories.yaml as entries, for the clustering tests and bench/stories.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

from bot.model import Entry

STORIES_YAML = Path(__file__).parent / "testdata" / "stories.yaml"
HOLDOUT_YAML = Path(__file__).parent / "testdata" / "stories_holdout.yaml"


@dataclass(frozen=True, slots=True)
class LabelledArticle:
    """An entry with the story and the copy group it belongs to."""

    key: str
    story: str
    copy: str
    entry: Entry


def load_articles(path: Path = STORIES_YAML) -> list[LabelledArticle]:
    """The articles in order of publication (the order a poller would meet them)."""
    articles = [
        LabelledArticle(
            key=item["id"],
            story=item["story"],
            copy=item.get("copy", item["id"]),
            entry=Entry(
                feed_url=f"https://feeds.example/{item['outlet'].replace(' ', '-').lower()}.xml",
                outlet=item["outlet"],
                url=item["url"],
                title=item["title"],
                summary=item["body"],
                published=datetime.fromisoformat(str(item["published"]).replace("Z", "+00:00")),
                language="en",
            ),
        )
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))
    ]
    return sorted(articles, key=lambda a: (a.entry.published, a.key))
