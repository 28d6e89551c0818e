"""The rules in force: a rule set, its compiled matcher and an entity finder, swapped as one so a poll
never sees half a reload."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from bot.match.matcher import Matcher
from bot.match.query import parse_query
from bot.match.rules import Rule, RuleSet
from bot.match.ruleset import load_ruleset
from bot.model import Entry

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rules:
    ruleset: RuleSet
    matcher: Matcher
    entities: Matcher

    @classmethod
    def compile(cls, ruleset: RuleSet) -> Rules:
        return cls(ruleset, Matcher(ruleset), entity_finder(ruleset))

    def entity_ids(self, entry: Entry) -> frozenset[str]:
        """The gazetteer entities an entry names (ambiguous forms only alongside a full name)."""
        return frozenset(match.rule_id for match in self.entities.match(entry))


def entity_finder(ruleset: RuleSet) -> Matcher:
    """A matcher with one `@id` rule per entity, so stories can compare who and where articles are about."""
    rules = tuple(
        Rule(id=entity_id, title=entity_id, query_text=f"@{entity_id}", query=parse_query(f"@{entity_id}"))
        for entity_id in ruleset.gazetteer.entities
    )
    return Matcher(RuleSet(rules, ruleset.gazetteer))


class RuleBook:
    """Holds the current `Rules`; readers take `book.current` once per poll and use that snapshot."""

    def __init__(self, directory: Path, ruleset: RuleSet) -> None:
        self.directory = directory
        self.current = Rules.compile(ruleset)

    @classmethod
    def load(cls, directory: Path) -> RuleBook:
        ruleset = load_ruleset(directory)
        for error in ruleset.errors:
            log.error("%s", error)
        log.info("loaded %d rules from %s", len(ruleset.rules), directory)
        return cls(directory, ruleset)

    def swap(self, ruleset: RuleSet) -> None:
        self.current = Rules.compile(ruleset)
