"""When a topic's volume is a spike, what a surge of it sends, and to whom. Pure.

A topic's volume is its stories, each counted once at the story's first publication time. The test compares
the stories of the last hour with the same hour of each of the previous `baseline_days` days that lie within
the topic's history (a day before the topic's first story is unknown, not zero): a spike has at least
`min_stories`, at least `min_ratio` times the usual count, and is improbable under a Poisson law at the
usual rate (upper tail below `p_value`). The rate the tail is taken at is smoothed, (sum + 1) / (days + 1),
so a topic that was silent at this hour on the days seen, or seen for one day only, is not spiking with
every story.

A surge is one spike episode of a topic, numbered 1, 2, ... per topic: it opens when the test fires and the
topic's last surge has not fired within `cooldown`, and it grows while the count in the last hour rises
above the peak it was told with. A chat following the topic gets one message per surge, keyed by (chat,
topic, surge number), and one edit per new peak: a retried check, or two processes checking the same
batch, queue the same keys, which the outbox takes once.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

from bot.alerts.messages import Action, FirstMessage
from bot.config import SpikesConfig
from bot.model import SpikeAlert, Surge

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
_MAX_TERMS = 1_000_000
"""Terms of the Poisson tail summed at most (counts are bounded by the stories stored; this bounds the loop)."""


@dataclass(frozen=True, slots=True)
class Sample:
    """A topic's stories in the hour under test, and in the same hour of each earlier day of its history,
    the nearest day first."""

    count: int
    baseline: tuple[int, ...]

    @property
    def usual(self) -> float | None:
        """The mean of the baseline days; None without any."""
        return sum(self.baseline) / len(self.baseline) if self.baseline else None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The test of one sample: the count, the usual count (None: no history), the Poisson upper tail at the
    smoothed rate (1.0 where the count is below the minimum or the ratio, and the tail was not taken), and
    whether it is a spike."""

    count: int
    usual: float | None
    p: float
    spike: bool

    @property
    def ratio(self) -> float | None:
        """How many times the usual count (None when there is no usual count or it is 0)."""
        return self.count / self.usual if self.usual else None


def poisson_tail(k: int, rate: float) -> float:
    """P(X >= k) for X ~ Poisson(rate), summed from k upwards in log space (no underflow for large rates)."""
    if k <= 0:
        return 1.0
    if rate <= 0:
        return 0.0
    if k <= rate:
        return 1.0  # at or below the mean: nothing unusual (the true tail is about one half or more)
    log_first = -rate + k * math.log(rate) - math.lgamma(k + 1)
    total, term, i = 1.0, 1.0, k
    while i < k + _MAX_TERMS:
        i += 1
        term *= rate / i
        total += term
        if term < 1e-12 * total:
            break
    return min(1.0, math.exp(log_first + math.log(total)))


def judge(sample: Sample, settings: SpikesConfig) -> Verdict:
    """Whether a sample is a spike (see the module's rules); no baseline day, no spike."""
    usual = sample.usual
    if usual is None:
        return Verdict(sample.count, None, 1.0, False)
    if sample.count < settings.min_stories or sample.count < settings.min_ratio * usual:
        return Verdict(sample.count, usual, 1.0, False)  # the tail is not needed (most hours of a chart)
    p = poisson_tail(sample.count, (sum(sample.baseline) + 1) / (len(sample.baseline) + 1))
    return Verdict(sample.count, usual, p, p < settings.p_value)


def sample_at(times: Iterable[datetime], now: datetime, history_start: datetime | None, days: int) -> Sample:
    """The sample of the hour before `now`: stories first published in (now - 1 h, now], and in the same hour
    of each of the `days` days before, counting only days whose hour ends at or after `history_start`."""
    counts = [0] * (days + 1)
    for time in times:
        back = now - time
        if back < timedelta(0):
            continue
        day, rest = divmod(back, DAY)
        if rest < HOUR and day <= days:
            counts[day] += 1
    known = [
        counts[day]
        for day in range(1, days + 1)
        if history_start is not None and now - day * DAY >= history_start
    ]
    return Sample(counts[0], tuple(known))


def windows_of(now: datetime, days: int) -> tuple[datetime, datetime]:
    """The span `sample_at` reads: from the start of the earliest baseline hour to now."""
    return now - days * DAY - HOUR, now


def hourly_verdicts(counts: Sequence[int], first_known: int, settings: SpikesConfig, start: int) -> list[Verdict]:
    """The test for each clock hour of a series from index `start` on (a chart's spikes and baseline):
    `counts` are hourly counts, `first_known` the index of the topic's first hour of history."""
    days = settings.baseline_days
    verdicts = []
    for hour in range(start, len(counts)):
        earlier = (hour - day * 24 for day in range(1, days + 1))
        baseline = tuple(counts[index] for index in earlier if index >= max(first_known, 0))
        verdicts.append(judge(Sample(counts[hour], baseline), settings))
    return verdicts


class Step(Enum):
    OPEN = "open"  # a new surge: a new message
    GROW = "grow"  # the surge reached a new peak: an edit
    HOLD = "hold"  # still a spike, no new peak: nothing to send


@dataclass(frozen=True, slots=True)
class SurgePlan:
    step: Step
    surge: Surge


def plan_surge(last: Surge | None, verdict: Verdict, now: datetime, cooldown: timedelta) -> SurgePlan | None:
    """What a spike test means for the topic's surges; None when it is not a spike."""
    if not verdict.spike:
        return None
    if last is None or now - last.fired_at > cooldown:
        number = last.number + 1 if last is not None else 1
        return SurgePlan(Step.OPEN, Surge(number, now, now, verdict.count))
    if verdict.count > last.peak:
        return SurgePlan(Step.GROW, replace(last, fired_at=now, peak=verdict.count))
    return SurgePlan(Step.HOLD, replace(last, fired_at=now))


def _topic_digest(rule_id: str) -> str:
    return hashlib.sha256(rule_id.encode()).hexdigest()[:16]


def spike_key(chat_id: int, rule_id: str, number: int) -> str:
    """Idempotency key of a chat's message about a topic's surge (rule ids run long: hashed)."""
    return f"tg:{chat_id}:spike:{_topic_digest(rule_id)}:{number}"


def channel_spike_key(channel: str, rule_id: str, number: int) -> str:
    """Idempotency key of an outbound-only channel's message about a topic's surge."""
    return f"apprise:{channel}:spike:{_topic_digest(rule_id)}:{number}"


@dataclass(frozen=True, slots=True)
class SpikeMessagePlan:
    """What to queue for one chat about a surge: a new message, or an edit of the one it got."""

    action: Action
    key: str
    edit_of: int | None = None


def plan_spike_message(
    spike: SpikeAlert, chat_id: int, *, first: FirstMessage | None, now: datetime, edit_window: timedelta
) -> SpikeMessagePlan | None:
    """A chat that got no message about this surge gets one (a chat that started following meanwhile too);
    one that did gets an edit for each new peak, within `edit_window` of its message; else nothing (None)."""
    key = spike_key(chat_id, spike.rule_id, spike.number)
    if first is None:
        return SpikeMessagePlan(Action.SEND, key)
    if not spike.grown or now - first.at > edit_window:
        return None
    return SpikeMessagePlan(Action.EDIT, f"{key}:peak:{spike.count}", first.outbox_id)
