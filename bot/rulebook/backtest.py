"""`newsbot rules backtest`: what rules, including edits not yet live, would have alerted on stored entries.

A rule alerts once per story (alerts/policy.py decides, as it does live): ten outlets carrying one event
are ten matches but one alert, so the counts are what a subscriber would have received. Every stored entry
counts as new, also the backlog of a feed's first poll, which goes live without alerts.

Edited rule files replace the live rule of the same id, so a user sees what a change does before it goes
live, alert by alert; nothing is written to the store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bot.alerts.policy import StoryMatch, decide
from bot.match.errors import FileProblem, RuleError
from bot.match.matcher import Matcher
from bot.match.rules import Rule, RuleSet, parse_rule
from bot.model import Match, StoredEntry


@dataclass(frozen=True, slots=True)
class Hit:
    """A stored entry a rule matched, and the story it is filed under."""

    stored: StoredEntry
    match: Match
    story_id: int


@dataclass(frozen=True, slots=True)
class RuleHits:
    """A rule's matches, oldest first, and the alerts they raise: the first match of each story."""

    rule: Rule
    hits: tuple[Hit, ...]
    alerts: tuple[Hit, ...]

    @property
    def stories(self) -> frozenset[int]:
        return frozenset(alert.story_id for alert in self.alerts)


@dataclass(frozen=True, slots=True)
class DraftChange:
    """A draft rule against the live rule of the same id (None for a new id): which alerts it drops and adds."""

    draft: RuleHits
    live: RuleHits | None

    @property
    def dropped(self) -> tuple[Hit, ...]:
        """Live alerts whose story the draft would not alert on."""
        if self.live is None:
            return ()
        return tuple(alert for alert in self.live.alerts if alert.story_id not in self.draft.stories)

    @property
    def added(self) -> tuple[Hit, ...]:
        """Draft alerts on stories the live rule did not alert on."""
        known = self.live.stories if self.live is not None else frozenset()
        return tuple(alert for alert in self.draft.alerts if alert.story_id not in known)


def with_rule_files(ruleset: RuleSet, files: Sequence[Path]) -> tuple[RuleSet, list[RuleError]]:
    """`ruleset` with each file's rule replacing the rule of the same id (or added); problems as RuleErrors."""
    rules = {rule.id: rule for rule in ruleset.rules}
    errors: list[RuleError] = []
    for path in files:
        try:
            rule = parse_rule(str(path), path.read_text(encoding="utf-8"), ruleset.gazetteer)
        except FileProblem as problem:
            errors.append(RuleError(str(path), problem.line, problem.message))
            continue
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(RuleError(str(path), 0, f"cannot read the rule file ({exc})"))
            continue
        rules[rule.id] = rule
    return replace(ruleset, rules=tuple(rules.values())), errors


def backtest(
    ruleset: RuleSet, entries: Sequence[StoredEntry], stories: Mapping[int, int], only: set[str] | None = None
) -> list[RuleHits]:
    """Every rule (or those in `only`) with the stored entries it matches and the alerts they raise.

    `entries` are in the order they were stored; `stories` gives each entry's story (an entry missing from
    it is a story of its own).
    """
    rules = [rule for rule in ruleset.rules if only is None or rule.id in only]
    matcher = Matcher(RuleSet(tuple(rules), ruleset.gazetteer))
    found: dict[str, list[Hit]] = {rule.id: [] for rule in rules}
    for stored in entries:
        for match in matcher.match(stored.entry):
            found[match.rule_id].append(Hit(stored, match, stories.get(stored.id, stored.id)))
    return [RuleHits(rule, tuple(found[rule.id]), _alerts(found[rule.id])) for rule in rules]


def _alerts(hits: Sequence[Hit]) -> tuple[Hit, ...]:
    """The hits the live alert policy raises an alert for, every entry counting as new."""
    by_entry = {hit.stored.id: hit for hit in hits}
    candidates = [StoryMatch(h.stored.id, h.stored.entry, h.match, 0, h.story_id, may_alert=True) for h in hits]
    raised = decide(candidates, {}, ())
    return tuple(by_entry[new.entry_id] for new in raised)


def draft_changes(drafts: Sequence[RuleHits], live: Sequence[RuleHits]) -> list[DraftChange]:
    """Each draft rule's backtest beside the live rule's of the same id."""
    by_id = {result.rule.id: result for result in live}
    return [DraftChange(draft, by_id.get(draft.rule.id)) for draft in drafts]
