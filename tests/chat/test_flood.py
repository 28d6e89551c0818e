"""The command quota and the refusal cooldown of the chat front (bot/chat/flood.py), on a hand-moved clock;
tests/e2e/test_flood_e2e.py floods a running daemon."""

from __future__ import annotations

from bot.chat.flood import MAX_TRACKED_CHATS, Admission, CommandQuota, Refusals


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_quota_answers_then_one_slow_down_then_drops_until_the_minute_has_room() -> None:
    clock = Clock()
    quota = CommandQuota(per_minute=3, clock=clock)
    admissions = [quota.take(1) for _ in range(6)]
    assert admissions == [Admission.ANSWER] * 3 + [Admission.SLOW_DOWN] + [Admission.DROP] * 2
    assert quota.take(2) is Admission.ANSWER  # another chat has its own minute
    clock.now += 60.5
    assert [quota.take(1) for _ in range(4)] == [Admission.ANSWER] * 3 + [Admission.SLOW_DOWN]


def test_quota_is_a_sliding_minute() -> None:
    clock = Clock()
    quota = CommandQuota(per_minute=2, clock=clock)
    assert quota.take(1) is Admission.ANSWER
    clock.now += 40
    assert quota.take(1) is Admission.ANSWER
    clock.now += 30  # the first has left the minute, the second has not
    assert [quota.take(1), quota.take(1)] == [Admission.ANSWER, Admission.SLOW_DOWN]


def test_quota_memory_is_bounded() -> None:
    quota = CommandQuota(per_minute=1, clock=Clock())
    for chat in range(MAX_TRACKED_CHATS + 500):
        quota.take(chat)
    assert len(quota._chats) == MAX_TRACKED_CHATS


def test_one_refusal_per_chat_per_hour() -> None:
    clock = Clock()
    refusals = Refusals(every=3600, clock=clock)
    assert [refusals.due(7) for _ in range(3)] == [True, False, False]
    assert refusals.due(8)
    clock.now += 3599
    assert not refusals.due(7)
    clock.now += 2
    assert refusals.due(7)
