"""Which rules match an entry, and why."""

from __future__ import annotations

from dataclasses import dataclass

from bot.match.evaluate import CompiledQuery, Document
from bot.match.rules import Rule, RuleSet
from bot.model import Entry, Match


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    query: CompiledQuery
    score_terms: tuple[tuple[CompiledQuery, float], ...]

    def match(self, doc: Document) -> Match | None:
        clause_hits = self.query.evaluate(doc)
        if clause_hits is None:
            return None
        score = None
        if self.rule.score is not None:
            score = sum(weight for term, weight in self.score_terms if term.holds(doc))
            if score < self.rule.score.threshold:
                return None
        return Match(self.rule.id, self.rule.title, clause_hits, score)


def compile_rule(rule: Rule, ruleset: RuleSet) -> CompiledRule:
    terms = rule.score.terms if rule.score is not None else ()
    return CompiledRule(
        rule,
        CompiledQuery(rule.query, ruleset.gazetteer),
        tuple((CompiledQuery(t.query, ruleset.gazetteer), t.weight) for t in terms),
    )


class Matcher:
    """All rules of a rule set, compiled once; `match` evaluates them on one entry."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self.rules = [compile_rule(rule, ruleset) for rule in ruleset.rules]

    def match(self, entry: Entry) -> list[Match]:
        """The matching rules in rule-set order, each with its clauses' spans."""
        doc = Document(entry)
        return [m for rule in self.rules if (m := rule.match(doc)) is not None]
