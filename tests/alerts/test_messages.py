"""What one chat gets for one alert: a new message, an edit of the one it got, or nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.alerts.messages import Action, FirstMessage, message_key, plan_message
from bot.model import Alert, ClauseHit, Entry, Match, Story, StoryMember

NOW = datetime(2026, 2, 17, 12, tzinfo=UTC)
DAY = timedelta(hours=24)


def _alert(*outlets: str, update: bool = False, story: bool = True) -> Alert:
    entry = Entry(feed_url="f", outlet=outlets[0], url="https://x.test/1", title="t", published=NOW)
    members = tuple(StoryMember(i, o, "t", f"https://x.test/{i}", NOW) for i, o in enumerate(outlets, 1))
    match = Match("troops", "Troops", (ClauseHit("troops", ()),))
    return Alert("troops", "Troops", entry, match, id=3, story=Story(9, "t", members, outlets[0]) if story else None,
                 update=update)


def test_a_story_the_chat_never_got_is_a_new_message_keyed_by_chat_topic_and_story() -> None:
    plan = plan_message(_alert("A"), 5, digest=False, first=None, now=NOW, edit_window=DAY)
    assert (plan.action, plan.key, plan.held) == (Action.SEND, "tg:5:troops:story:9", False)
    assert message_key(5, _alert("A", story=False)) == "tg:5:alert:3"


def test_a_grown_story_edits_the_first_message_once_per_outlet_count() -> None:
    first = FirstMessage(41, NOW - timedelta(hours=2))
    plan = plan_message(_alert("A", "B", update=True), 5, digest=False, first=first, now=NOW, edit_window=DAY)
    assert (plan.action, plan.key, plan.edit_of) == (Action.EDIT, "tg:5:troops:story:9:outlets:2", 41)


def test_growth_after_the_edit_window_sends_nothing() -> None:
    first = FirstMessage(41, NOW - timedelta(hours=25))
    plan = plan_message(_alert("A", "B", update=True), 5, digest=False, first=first, now=NOW, edit_window=DAY)
    assert plan.action is Action.NOTHING


def test_digest_chats_get_alerts_held_under_the_same_key() -> None:
    plan = plan_message(_alert("A", "B", update=True), 5, digest=True, first=None, now=NOW, edit_window=DAY)
    assert (plan.action, plan.key, plan.held) == (Action.SEND, "tg:5:troops:story:9", True)
