"""`newsbot rules backtest`: what rules, including edits not yet live, would have alerted on stored entries.

Edited rule files replace the live rule of the same id, so a user sees what a change does before it
goes live; nothing is written to the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bot.match.errors import FileProblem, RuleError
from bot.match.matcher import Matcher
from bot.match.rules import Rule, RuleSet, parse_rule
from bot.model import Match, StoredEntry


@dataclass(frozen=True, slots=True)
class RuleHits:
    rule: Rule
    hits: tuple[tuple[StoredEntry, Match], ...]


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


def backtest(ruleset: RuleSet, entries: Sequence[StoredEntry], only: set[str] | None = None) -> list[RuleHits]:
    """Every rule (or those in `only`) with the stored entries it matches, oldest first."""
    matcher = Matcher(ruleset)
    found: dict[str, list[tuple[StoredEntry, Match]]] = {rule.id: [] for rule in ruleset.rules}
    for stored in entries:
        for match in matcher.match(stored.entry):
            found[match.rule_id].append((stored, match))
    return [RuleHits(rule, tuple(found[rule.id])) for rule in ruleset.rules if only is None or rule.id in only]
