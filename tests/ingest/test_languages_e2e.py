"""A story told in two languages, through the whole path on a real database: a German and an English report
of one event (a SemEval-2022 Task 8 development pair, tests/stories/testdata/meaning_pairs.yaml) share no
word but names, join one story by their meaning, and the story says so: its languages in the alert line,
and what joined each member in Why?; and so after a restart (`poll --once` from cron is a new process each
time)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import yaml

from bot import clock
from bot.app import open_runtime
from bot.config import Config, FeedConfig
from bot.deliver.format import render_why, story_line
from bot.deliver.jsonl import JsonLinesSink
from bot.store.stories import entry_stories, story_members
from bot.stories.story import story_of
from tests.feedserver import FeedServer, Item

PAIRS = Path(__file__).resolve().parents[1] / "stories" / "testdata" / "meaning_pairs.yaml"
NOW = clock.now().replace(microsecond=0)
RULE = """id: jazz
title: Jazz
query: "Marsalis"
"""


def _marsalis() -> tuple[Item, Item]:
    pair = next(p for p in yaml.safe_load(PAIRS.read_text(encoding="utf-8")) if p["pair"] == "1567236769_1566552171")
    german, english = (
        Item(f"m-{side}", pair[side]["title"], pair[side]["url"], pair[side]["text"], NOW) for side in ("a", "b")
    )
    return german, english


def _served(feed_server: FeedServer, tmp_path: Path) -> tuple[Path, FeedConfig, FeedConfig]:
    """The rule folder, and the German and the English feed, each serving its report of the pair."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "jazz.yaml").write_text(RULE, encoding="utf-8")
    german, english = _marsalis()
    feed_server.feeds["abendblatt.xml"] = [german]
    feed_server.feeds["newsweek.xml"] = [english]
    def feed(name: str, outlet: str) -> FeedConfig:
        return FeedConfig(url=feed_server.url(name), name=outlet, backlog=1, fulltext=False)

    return rules, feed("abendblatt.xml", "Abendblatt"), feed("newsweek.xml", "Newsweek")


async def test_a_german_and_an_english_report_are_one_story_in_two_languages(
    feed_server: FeedServer, database_url: str, tmp_path: Path
) -> None:
    rules, german, english = _served(feed_server, tmp_path)
    config = Config(database=database_url, rules=rules, feeds=[german, english])
    async with open_runtime(config, JsonLinesSink(), parse_in_processes=False) as runtime:
        reports = await runtime.pipeline.poll_once()
        stories = {story.story.id for report in reports for story in report.stories if story.story is not None}
        assert len(stories) == 1
        async with runtime.engine.connect() as conn:
            members = (await story_members(conn, sorted(stories)))[stories.pop()]
    story = story_of(members[0].id, members, config.stories)
    assert {m.outlet: m.language for m in story.members} == {"Abendblatt": "de", "Newsweek": "en"}
    line = story_line(story)
    assert line is not None and line.startswith("2 outlets in 2 languages: ")
    assert "Abendblatt (de)" in line and "Newsweek (en)" in line
    joined = [m.joined for m in story.members]
    assert "" in joined  # the first opened the story
    assert any(j and j.startswith("meaning across languages 0.") for j in joined)
    why = render_why(story, []).plain
    assert "opened the story" in why and "joined by meaning across languages 0." in why


async def test_a_report_filed_after_a_restart_joins_the_story_told_before_it(
    feed_server: FeedServer, database_url: str, tmp_path: Path
) -> None:
    """One run files the German report (nothing near it: its meaning is not read yet), the next run, a new
    process, the English one: the texts the first run kept are kept again when the window is restored, so the
    German report is read in meaning and the two are one story, as in one run."""
    rules, german, english = _served(feed_server, tmp_path)
    first = Config(database=database_url, rules=rules, feeds=[german])
    async with open_runtime(first, JsonLinesSink(), parse_in_processes=False) as runtime:
        await runtime.pipeline.poll_once()
    both = first.model_copy(update={"feeds": [german, english]})
    async with open_runtime(both, JsonLinesSink(), parse_in_processes=False) as runtime:
        reports = await runtime.pipeline.poll_once()
        async with runtime.engine.connect() as conn:
            stories = await entry_stories(runtime.engine, NOW - timedelta(days=1))
            members = await story_members(conn, sorted(set(stories.values())))
    assert [report.new_entries for report in reports] == [0, 1]
    assert len(set(stories.values())) == 1 and len(stories) == 2
    (story_id,) = set(stories.values())
    joined = [m.joined for m in members[story_id]]
    assert any(j and j.startswith("meaning across languages 0.") for j in joined)
