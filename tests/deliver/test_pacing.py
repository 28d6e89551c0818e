"""Pacing bookkeeping on a hand-driven clock: per-chat pace, global pace, per-chat 429 holds, folding."""

from __future__ import annotations

import itertools

from bot.deliver.pacing import Pace, Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_global_slots_are_spaced_across_many_chats() -> None:
    clock = Clock()
    pacer = Pacer(Pace(), clock)
    times = [pacer.book(chat, is_group=False) for chat in range(200)]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1 / 30 - 1e-9
    assert times[-1] - times[0] < 200 / 30


def test_private_and_group_pace() -> None:
    clock = Clock()
    pacer = Pacer(Pace(), clock)
    first = pacer.book(1, is_group=False)
    assert pacer.ready_at(1) == first + 1.0
    pacer.book(-5, is_group=True)
    assert pacer.ready_at(-5) >= clock.now + 3.0
    clock.now += 1.0
    assert pacer.ready_at(1) == clock.now


def test_retry_after_holds_only_that_chat() -> None:
    clock = Clock()
    pacer = Pacer(Pace(), clock)
    pacer.retry_after(1, 30)
    assert pacer.ready_at(1) == clock.now + 30
    assert pacer.ready_at(2) == clock.now
    assert pacer.book(2, is_group=False) == clock.now
    assert pacer.ready_at(1) == clock.now + 30


def test_fold_when_backlog_outlasts_the_horizon() -> None:
    pacer = Pacer(Pace(fold_after=20.0))
    assert not pacer.should_fold(1, is_group=True)
    assert not pacer.should_fold(21, is_group=False)
    assert pacer.should_fold(22, is_group=False)
    assert not pacer.should_fold(7, is_group=True)
    assert pacer.should_fold(8, is_group=True)


def test_forget_keeps_chats_with_future_slots() -> None:
    clock = Clock()
    pacer = Pacer(Pace(), clock)
    pacer.book(1, is_group=False)
    pacer.forget(1)
    assert pacer.ready_at(1) == clock.now + 1.0
    clock.now += 2
    pacer.forget(1)
    assert pacer.ready_at(1) == clock.now
