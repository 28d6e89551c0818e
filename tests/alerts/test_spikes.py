"""The spike test, surges and spike messages per chat (bot/alerts/spikes.py): pure, on fixed times."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts.messages import Action, FirstMessage
from bot.alerts.spikes import (
    DAY,
    HOUR,
    Sample,
    Step,
    channel_spike_key,
    hourly_verdicts,
    judge,
    plan_spike_message,
    plan_surge,
    poisson_tail,
    sample_at,
    spike_key,
)
from bot.config import SpikesConfig
from bot.model import SpikeAlert, Surge

NOW = datetime(2026, 2, 17, 12, 30, tzinfo=UTC)
SETTINGS = SpikesConfig()


def _exact_tail(k: int, rate: float) -> float:
    return 1.0 - sum(math.exp(-rate) * rate**i / math.factorial(i) for i in range(k))


@pytest.mark.parametrize(("k", "rate"), [(1, 0.5), (5, 1.0), (9, 29 / 15), (30, 12.0), (3, 2.9)])
def test_the_poisson_tail_is_the_exact_sum(k: int, rate: float) -> None:
    assert poisson_tail(k, rate) == pytest.approx(_exact_tail(k, rate), rel=1e-9)


def test_the_poisson_tail_holds_at_large_rates_and_edges() -> None:
    assert poisson_tail(0, 3.0) == 1.0
    assert poisson_tail(4, 0.0) == 0.0
    assert poisson_tail(100, 150.0) == 1.0  # below the mean
    assert 0 < poisson_tail(1300, 1000.0) < 1e-15  # exp(-1000) alone underflows
    assert poisson_tail(1040, 1000.0) == pytest.approx(0.1066, abs=0.002)  # about the normal tail at z=1.26


def test_a_quiet_topic_going_from_none_to_two_is_no_spike() -> None:
    verdict = judge(Sample(2, (0,) * 14), SETTINGS)
    assert not verdict.spike and verdict.usual == 0 and verdict.ratio is None


def test_a_dozen_where_two_is_usual_is_a_spike_and_nine_where_four_is_not() -> None:
    spike = judge(Sample(14, (2,) * 14), SETTINGS)
    assert spike.spike and spike.usual == 2 and spike.ratio == 7 and spike.p < 1e-4
    assert not judge(Sample(9, (4,) * 14), SETTINGS).spike  # p is small, but not 3x the usual


def test_the_minimum_count_and_the_history_are_required() -> None:
    assert not judge(Sample(4, (0,) * 14), SETTINGS).spike
    assert judge(Sample(5, (0,) * 14), SETTINGS).spike
    assert not judge(Sample(50, ()), SETTINGS).spike  # no day of history: nothing to compare with
    strict = SpikesConfig(min_stories=20, min_ratio=10, p_value=1e-9)
    assert not judge(Sample(14, (2,) * 14), strict).spike


def test_one_day_of_history_is_smoothed_not_trusted() -> None:
    # one day with 1 story at this hour: rate (1 + 1) / 2 = 1; 5 stories have p = 0.0037 > 0.001
    assert not judge(Sample(5, (1,)), SETTINGS).spike
    assert judge(Sample(7, (1,)), SETTINGS).spike


def test_the_sample_counts_the_last_hour_and_the_same_hour_of_days_within_the_history() -> None:
    times = [
        NOW - timedelta(minutes=1),
        NOW - timedelta(minutes=59),
        NOW - timedelta(minutes=61),  # before the hour
        NOW + timedelta(minutes=5),  # after now: not counted
        NOW - DAY - timedelta(minutes=30),
        NOW - 2 * DAY,  # the end of day 2's hour: counted
        NOW - 2 * DAY - HOUR,  # its start: not counted
        NOW - 20 * DAY,  # beyond the baseline days
    ]
    sample = sample_at(times, NOW, NOW - 5 * DAY, 14)
    assert sample == Sample(2, (1, 1, 0, 0, 0))
    assert sample_at(times, NOW, None, 14) == Sample(2, ())
    assert sample_at(times, NOW, NOW - 30 * DAY, 3) == Sample(2, (1, 1, 0))


def test_a_surge_opens_grows_holds_and_a_new_one_opens_after_the_cooldown() -> None:
    spike = judge(Sample(8, (0,) * 14), SETTINGS)
    opened = plan_surge(None, spike, NOW, timedelta(hours=6))
    assert opened is not None and opened.step is Step.OPEN and opened.surge == Surge(1, NOW, NOW, 8)
    later = NOW + timedelta(minutes=10)
    grown = plan_surge(opened.surge, judge(Sample(11, (0,) * 14), SETTINGS), later, timedelta(hours=6))
    assert grown is not None and grown.step is Step.GROW and grown.surge == Surge(1, NOW, later, 11)
    held = plan_surge(grown.surge, judge(Sample(9, (0,) * 14), SETTINGS), later, timedelta(hours=6))
    assert held is not None and held.step is Step.HOLD and held.surge.peak == 11
    assert plan_surge(grown.surge, judge(Sample(2, (0,) * 14), SETTINGS), later, timedelta(hours=6)) is None
    again = plan_surge(grown.surge, spike, later + timedelta(hours=7), timedelta(hours=6))
    assert again is not None and again.step is Step.OPEN and again.surge.number == 2


def _spike(count: int, grown: bool) -> SpikeAlert:
    return SpikeAlert("troop-deployment", "Troop deployment", 3, count, 2.0, NOW, NOW, grown)


def test_a_chat_gets_one_message_per_surge_and_one_edit_per_peak() -> None:
    first = plan_spike_message(_spike(14, False), 7, first=None, now=NOW, edit_window=DAY)
    assert first is not None and first.action is Action.SEND and first.key == spike_key(7, "troop-deployment", 3)
    told = FirstMessage(41, NOW)
    assert plan_spike_message(_spike(14, False), 7, first=told, now=NOW, edit_window=DAY) is None
    edit = plan_spike_message(_spike(17, True), 7, first=told, now=NOW, edit_window=DAY)
    assert edit is not None and edit.action is Action.EDIT and edit.edit_of == 41
    assert edit.key == f"{spike_key(7, 'troop-deployment', 3)}:peak:17"
    assert plan_spike_message(_spike(17, True), 7, first=told, now=NOW + 2 * DAY, edit_window=DAY) is None
    late = plan_spike_message(_spike(17, True), 8, first=None, now=NOW, edit_window=DAY)
    assert late is not None and late.action is Action.SEND  # followed since the surge opened


def test_keys_are_short_whatever_the_rule_id() -> None:
    long_id = "x" * 200
    assert len(spike_key(-1001234567890123, long_id, 99999)) < 80
    assert spike_key(1, "a", 1) != spike_key(1, "b", 1) != spike_key(1, "a", 2)
    assert channel_spike_key("c" * 32, long_id, 1).startswith("apprise:")


def test_hourly_verdicts_mark_the_hours_of_a_series_against_earlier_days() -> None:
    counts = [1] * (24 * 15)
    counts[-1] = 9
    verdicts = hourly_verdicts(counts, 0, SETTINGS, start=24 * 14)
    assert len(verdicts) == 24
    assert [v.spike for v in verdicts] == [False] * 23 + [True]
    assert verdicts[0].usual == 1.0
    assert hourly_verdicts(counts, 24 * 14, SETTINGS, start=24 * 14)[-1].usual is None  # no history before
