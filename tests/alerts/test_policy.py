"""Which matches of a filed batch raise an alert, and which grow an earlier one: one alert per topic and story."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.alerts.policy import StoryMatch, decide, may_alert
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


def test_the_first_match_of_a_topic_raises_its_alert_once_per_story() -> None:
    raised, updates = decide(
        [_found(1, "troops", 1), _found(2, "troops", 1), _found(3, "kallas", 1), _found(4, "troops", 4)],
        {1: _story(1, "A", "B"), 4: _story(4, "C")},
        {},
        {},
        frozenset(),
    )
    assert [(r.alert.rule_id, r.entry_id) for r in raised] == [("troops", 1), ("kallas", 3), ("troops", 4)]
    assert updates == []


def test_a_story_with_the_topics_alert_grows_it_only_when_it_gained_an_outlet() -> None:
    earlier = Alert("troops", "Troops", _entry(1), _match("troops"), id=7, story=_story(1, "A"))
    stories = {1: _story(1, "A", "B")}
    raised, updates = decide([_found(2, "troops", 1)], stories, {1: frozenset({"A"})}, {("troops", 1): earlier},
                             frozenset())
    assert raised == [] and [(u.id, u.update, u.story) for u in updates] == [(7, True, stories[1])]
    raised, updates = decide([_found(2, "troops", 1)], stories, {1: frozenset({"A", "B"})},
                             {("troops", 1): earlier}, frozenset())
    assert raised == [] and updates == []


def test_a_merge_grows_the_alerts_of_the_story_that_absorbed_another() -> None:
    """No match in the batch, but another story merged in: its outlets are added to the older alert."""
    earlier = Alert("troops", "Troops", _entry(1), _match("troops"), id=7, story=_story(1, "A"))
    raised, updates = decide([], {1: _story(1, "A", "B")}, {1: frozenset({"A"})}, {("troops", 1): earlier},
                             frozenset({1}))
    assert raised == [] and [u.id for u in updates] == [7]


def test_entries_that_may_not_alert_never_raise_one() -> None:
    raised, _ = decide([_found(1, "troops", 1, may=False), _found(2, "troops", 1)], {1: _story(1, "A")}, {}, {},
                       frozenset())
    assert [r.entry_id for r in raised] == [2]


def test_a_first_poll_lets_only_its_newest_backlog_alert() -> None:
    entries = [_entry(1, 5), _entry(2, None), _entry(3, 30), _entry(4, 10)]
    assert [e.url[-1] for e in may_alert(entries, 2, first_poll=True)] == ["3", "4"]
    assert may_alert(entries, 0, first_poll=True) == []
    assert may_alert(entries, 0, first_poll=False) == entries
