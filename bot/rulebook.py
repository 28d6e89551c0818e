"""The rules in force: a rule set and its compiled matcher, swapped as one so a poll never sees half a reload."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from bot.match.matcher import Matcher
from bot.match.rules import RuleSet
from bot.match.ruleset import load_ruleset

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rules:
    ruleset: RuleSet
    matcher: Matcher


class RuleBook:
    """Holds the current `Rules`; readers take `book.current` once per poll and use that snapshot."""

    def __init__(self, directory: Path, ruleset: RuleSet) -> None:
        self.directory = directory
        self.current = Rules(ruleset, Matcher(ruleset))

    @classmethod
    def load(cls, directory: Path) -> RuleBook:
        ruleset = load_ruleset(directory)
        for error in ruleset.errors:
            log.error("%s", error)
        log.info("loaded %d rules from %s", len(ruleset.rules), directory)
        return cls(directory, ruleset)

    def swap(self, ruleset: RuleSet) -> None:
        self.current = Rules(ruleset, Matcher(ruleset))
