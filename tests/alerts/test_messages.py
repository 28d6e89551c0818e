"""What one chat gets for one story: one message naming the topics it follows, an edit of it, or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot.alerts.messages import (
    Action,
    FirstMessage,
    Follow,
    MessagePlan,
    Reader,
    channel_topics,
    message_key,
    plan_message,
)
from bot.model import Alert, ClauseHit, Entry, Match, Story, StoryAlert, StoryMember

NOW = datetime(2026, 2, 17, 12, tzinfo=UTC)
DAY = timedelta(hours=24)
TITLES = {"troops": "Troop deployment", "kallas": "Kaja Kallas", "estonia": "Estonia", "sanctions": "Sanctions"}


def _story(*outlets: str) -> Story:
    members = tuple(StoryMember(i, o, "t", f"https://x.test/{i}", NOW) for i, o in enumerate(outlets, 1))
    return Story(9, "t", members, outlets[0])


def _alert(alert_id: int, rule: str, story: Story | None) -> Alert:
    entry = Entry(feed_url="f", outlet="MENAFN", url="https://x.test/1", title="t", published=NOW)
    return Alert(rule, TITLES[rule], entry, Match(rule, TITLES[rule], (ClauseHit(rule, ()),)), id=alert_id, story=story)


def _unit(
    fresh: Sequence[str], earlier: Sequence[str] = (), outlets: tuple[str, ...] = ("A",), grown: bool = False
) -> StoryAlert:
    story = _story(*outlets)
    old = tuple(_alert(n, rule, story) for n, rule in enumerate(earlier, 1))
    new = tuple(_alert(n, rule, story) for n, rule in enumerate(fresh, 10))
    return StoryAlert(story, new, old, grown)


def _reader(*rules: str, muted: tuple[str, ...] = (), digest: bool = False) -> Reader:
    return Reader(5, tuple(Follow(rule, thread_id=len(rule), muted=rule in muted) for rule in rules), digest)


def _plan(story: StoryAlert, reader: Reader, first: FirstMessage | None = None) -> MessagePlan | None:
    return plan_message(story, reader, first=first, now=NOW, edit_window=DAY)


def test_one_message_per_story_naming_the_followed_topics_in_subscription_order() -> None:
    plan = _plan(_unit(["estonia", "kallas", "troops", "sanctions"]), _reader("troops", "kallas", "estonia"))
    assert plan is not None and (plan.action, plan.key, plan.held) == (Action.SEND, "tg:5:story:9", False)
    assert [a.rule_id for a in plan.topics] == ["troops", "kallas", "estonia"]
    assert plan.thread_id == len("troops")  # the thread of the first topic named


def test_muted_topics_are_left_out_and_all_muted_sends_nothing() -> None:
    story = _unit(["estonia", "kallas", "troops"])
    plan = _plan(story, _reader("troops", "kallas", "estonia", muted=("kallas",)))
    assert plan is not None and [a.rule_id for a in plan.topics] == ["troops", "estonia"]
    assert _plan(story, _reader("troops", "kallas", "estonia", muted=("troops", "kallas", "estonia"))) is None
    assert _plan(story, _reader("sanctions")) is None


def test_a_grown_story_edits_the_first_message_once_per_state() -> None:
    first = FirstMessage(41, NOW - timedelta(hours=2))
    reader = _reader("troops", "kallas")
    grown = _plan(_unit([], ["troops", "kallas"], ("A", "B"), grown=True), reader, first)
    assert grown is not None and (grown.action, grown.edit_of) == (Action.EDIT, 41)
    assert grown.key.startswith("tg:5:story:9:outlets:2:topics:")
    again = _plan(_unit([], ["troops", "kallas"], ("A", "B"), grown=True), reader, first)
    assert again is not None and again.key == grown.key
    more = _plan(_unit([], ["troops", "kallas"], ("A", "B", "C"), grown=True), reader, first)
    assert more is not None and more.key != grown.key


def test_a_topic_the_chat_follows_matching_later_edits_the_message_to_name_it() -> None:
    first = FirstMessage(41, NOW - timedelta(hours=1))
    before = _plan(_unit(["troops"]), _reader("troops", "estonia"))
    plan = _plan(_unit(["estonia"], ["troops"]), _reader("troops", "estonia"), first)
    assert plan is not None and plan.action is Action.EDIT and [a.rule_id for a in plan.topics] == ["troops", "estonia"]
    assert before is not None and plan.key != before.key
    assert _plan(_unit(["sanctions"], ["troops"]), _reader("troops"), first) is None  # nothing changed for it


def test_growth_after_the_edit_window_or_after_a_digest_sends_nothing() -> None:
    story = _unit([], ["troops"], ("A", "B"), grown=True)
    assert _plan(story, _reader("troops"), FirstMessage(41, NOW - timedelta(hours=25))) is None
    assert _plan(story, _reader("troops", digest=True), FirstMessage(41, NOW, folded=True)) is None


def test_digest_chats_get_one_held_line_per_story_rewritten_while_it_waits() -> None:
    plan = _plan(_unit(["troops", "kallas"]), _reader("troops", "kallas", digest=True))
    assert plan is not None and (plan.action, plan.key, plan.held) == (Action.SEND, "tg:5:story:9", True)
    waiting = FirstMessage(41, NOW, held=True)
    later = _plan(_unit(["kallas"], ["troops"]), _reader("troops", "kallas", digest=True), waiting)
    assert later is not None and (later.action, later.edit_of) == (Action.REWRITE, 41)


def test_a_chat_that_never_got_a_grown_story_gets_it_then() -> None:
    plan = _plan(_unit([], ["troops"], ("A", "B"), grown=True), _reader("troops"))
    assert plan is not None and plan.action is Action.SEND


def test_alerts_outside_stories_are_keyed_by_alert() -> None:
    assert message_key(5, StoryAlert(None, (_alert(3, "troops", None),))) == "tg:5:alert:3"


def test_channels_get_a_story_once_for_the_topics_they_follow() -> None:
    story = _unit(["troops", "kallas", "sanctions"])
    assert [a.rule_id for a in channel_topics(story, ["kallas", "troops"])] == ["troops", "kallas"]
    assert [a.rule_id for a in channel_topics(story, [])] == ["troops", "kallas", "sanctions"]
    assert channel_topics(_unit([], ["troops"], ("A", "B"), grown=True), ["troops"]) == ()
    assert channel_topics(_unit(["estonia"], ["troops"]), ["troops"]) == ()
