"""Which matches of a filed batch raise an alert (one per topic and story), and how the batch reaches the
sinks: story by story, each story with all its topics' alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.alerts.policy import StoryMatch, decide, group, grown_stories, may_alert
from bot.model import Alert, ClauseHit, Entry, Match, Story, StoryMember

T0 = datetime(2026, 2, 17, 9, tzinfo=UTC)


def _entry(n: int, minutes: int | None = 0) -> Entry:
    published = None if minutes is None else T0 + timedelta(minutes=minutes)
    return Entry(feed_url="f", outlet=f"Outlet {n}", url=f"https://x.test/{n}", title=f"Item {n}", published=published)


def _match(rule: str) -> Match:
    return Match(rule, rule.title(), (ClauseHit(rule, ()),))


def _story(story_id: int, *outlets: str) -> Story:
    members = tuple(StoryMember(i, outlet, "t", f"https://x.test/{i}", T0) for i, outlet in enumerate(outlets, 1))
    return Story(story_id, "t", members, origin=outlets[0])


def _found(entry_id: int, rule: str, story: int, may: bool = True) -> StoryMatch:
    return StoryMatch(entry_id, _entry(entry_id), _match(rule), 100 + entry_id, story, may)


def _alert(alert_id: int, rule: str, story: Story) -> Alert:
    return Alert(rule, rule.title(), _entry(alert_id), _match(rule), id=alert_id, story=story)


def test_the_first_match_of_a_topic_raises_its_alert_once_per_story() -> None:
    raised = decide(
        [_found(1, "troops", 1), _found(2, "troops", 1), _found(3, "kallas", 1), _found(4, "troops", 4)],
        {1: _story(1, "A", "B"), 4: _story(4, "C")},
        [("estonia", 1)],
    )
    assert [(r.alert.rule_id, r.entry_id) for r in raised] == [("troops", 1), ("kallas", 3), ("troops", 4)]
    assert decide([_found(2, "troops", 1)], {1: _story(1, "A")}, [("troops", 1)]) == []


def test_entries_that_may_not_alert_never_raise_one() -> None:
    raised = decide([_found(1, "troops", 1, may=False), _found(2, "troops", 1)], {1: _story(1, "A")}, [])
    assert [r.entry_id for r in raised] == [2]


def test_a_story_grows_only_when_it_gained_an_outlet() -> None:
    stories = {1: _story(1, "A", "B"), 2: _story(2, "C")}
    assert grown_stories(stories, {1: frozenset({"A"}), 2: frozenset({"C"})}) == {1}
    assert grown_stories(stories, {1: frozenset({"A", "B"}), 2: frozenset({"C"})}) == frozenset()


def test_a_batch_is_grouped_by_story_with_every_topic() -> None:
    """Three topics matched one story: one unit with three fresh alerts; another story alone."""
    seed, other = _story(1, "MENAFN"), _story(4, "ERR")
    raised = [_alert(10, "troops", seed), _alert(11, "kallas", seed), _alert(12, "sanctions", other),
              _alert(13, "estonia", seed)]  # fmt: skip
    (first, second) = group(raised, {1: seed, 4: other}, {}, frozenset()).stories
    assert first.story == seed and [a.rule_id for a in first.fresh] == ["troops", "kallas", "estonia"]
    assert first.earlier == () and not first.grown
    assert second.story == other and [a.rule_id for a in second.alerts] == ["sanctions"]


def test_a_grown_story_comes_with_its_earlier_alerts_marked_as_updates() -> None:
    before, after = _story(1, "MENAFN"), _story(1, "MENAFN", "Rewrite Desk")
    earlier = {("troops", 1): _alert(7, "troops", before), ("kallas", 1): _alert(8, "kallas", before)}
    (story,) = group([], {1: after}, earlier, frozenset({1})).stories
    assert story.grown and story.fresh == ()
    assert [(a.id, a.update, a.story) for a in story.earlier] == [(7, True, after), (8, True, after)]
    assert [a.id for a in story.changes] == [7, 8]


def test_a_new_topic_for_an_alerted_story_brings_the_earlier_topics_as_context() -> None:
    story = _story(1, "MENAFN")
    earlier = {("troops", 1): _alert(7, "troops", story)}
    (grouped,) = group([_alert(9, "estonia", story)], {1: story}, earlier, frozenset()).stories
    assert [a.rule_id for a in grouped.alerts] == ["troops", "estonia"]
    assert grouped.fresh_topics == {"estonia"} and not grouped.earlier[0].update
    assert [a.id for a in grouped.changes] == [9]


def test_a_story_neither_grown_nor_newly_matched_is_left_out() -> None:
    story = _story(1, "MENAFN")
    assert group([], {1: story}, {("troops", 1): _alert(7, "troops", story)}, frozenset()).stories == ()


def test_a_first_poll_lets_only_its_newest_backlog_alert() -> None:
    entries = [_entry(1, 5), _entry(2, None), _entry(3, 30), _entry(4, 10)]
    assert [e.url[-1] for e in may_alert(entries, 2, first_poll=True)] == ["3", "4"]
    assert may_alert(entries, 0, first_poll=True) == []
    assert may_alert(entries, 0, first_poll=False) == entries
