"""Pacing bookkeeping on a hand-driven clock: per-chat pace, global pace, per-chat 429 holds, folding."""

from __future__ import annotations

from bot.deliver.pacing import Pace, Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _send_all_due(pacer: Pacer, clock: Clock, chats: list[tuple[int, bool]]) -> list[int]:
    sent = []
    for chat_id, is_group in chats:
        if pacer.next_time(chat_id, is_group) <= clock.now:
            pacer.record(chat_id)
            sent.append(chat_id)
    return sent


def test_global_sends_are_spread_30_per_second() -> None:
    clock = Clock()
    pacer = Pacer(Pace(), clock)
    chats = [(chat, False) for chat in range(200)]
    sent = []
    for _ in range(999):
        sent += _send_all_due(pacer, clock, chats)
        clock.now += 0.001
    assert len(sent) == 30
    assert len(set(sent)) == 30


def test_global_window_holds_even_after_a_quiet_spell() -> None:
    clock = Clock()
    pacer = Pacer(Pace(global_per_second=3), clock)
    for chat in range(3):
        clock.now = pacer.next_time(chat, False)
        pacer.record(chat)
    assert pacer.next_time(3, False) == 101.0


def test_private_chat_once_a_second_group_twenty_a_minute() -> None:
    clock = Clock()
    pacer = Pacer(Pace(), clock)
    pacer.record(1)
    assert pacer.next_time(1, False) == clock.now + 1.0
    for _ in range(20):
        clock.now += 0.1
        assert pacer.next_time(-5, True) == clock.now
        pacer.record(-5)
    assert pacer.next_time(-5, True) == 100.1 + 60.0


def test_late_sender_does_not_burst() -> None:
    clock = Clock()
    pacer = Pacer(Pace(), clock)
    pacer.record(1)
    clock.now += 5.0
    pacer.record(1)
    assert pacer.next_time(1, False) == clock.now + 1.0


def test_retry_after_holds_only_that_chat() -> None:
    clock = Clock()
    pacer = Pacer(Pace(), clock)
    pacer.retry_after(1, 30)
    assert pacer.next_time(1, False) == clock.now + 30
    assert pacer.next_time(2, False) == clock.now


def test_fold_when_backlog_outlasts_the_horizon() -> None:
    pacer = Pacer(Pace(fold_after=20.0))
    assert not pacer.should_fold(1, is_group=True)
    assert not pacer.should_fold(21, is_group=False)
    assert pacer.should_fold(22, is_group=False)
    assert not pacer.should_fold(7, is_group=True)
    assert pacer.should_fold(8, is_group=True)


def test_forget_keeps_chats_that_are_still_held() -> None:
    clock = Clock()
    pacer = Pacer(Pace(), clock)
    pacer.record(1)
    pacer.forget(1, False)
    assert pacer.next_time(1, False) == clock.now + 1.0
    clock.now += 2
    pacer.retry_after(1, 10)
    pacer.forget(1, False)
    assert pacer.next_time(1, False) == clock.now + 10
