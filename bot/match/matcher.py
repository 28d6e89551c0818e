"""Which rules match an entry, and why."""

from __future__ import annotations

from dataclasses import dataclass

from bot.match.document import Document
from bot.match.evaluate import CompiledQuery, Compiler
from bot.match.gc_pause import collector_paused
from bot.match.presearch import Presearcher, anchors
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


def compile_rule(rule: Rule, compiler: Compiler) -> CompiledRule:
    terms = rule.score.terms if rule.score is not None else ()
    return CompiledRule(rule, compiler.compile(rule.query), tuple((compiler.compile(t.query), t.weight) for t in terms))


class Matcher:
    """All rules of a rule set, compiled once; `match` evaluates them on one entry.

    With `presearch` (the default) only the rules whose anchor words occur in the entry are
    evaluated; without it every rule is, which gives the same answer, more slowly.
    """

    def __init__(self, ruleset: RuleSet, *, presearch: bool = True) -> None:
        self.ruleset = ruleset
        with collector_paused():
            compiler = Compiler(ruleset.gazetteer)
            self.rules = [compile_rule(rule, compiler) for rule in ruleset.rules]
            self.presearcher = (
                Presearcher([anchors(rule.query, ruleset.gazetteer) for rule in ruleset.rules]) if presearch else None
            )

    def candidates(self, doc: Document) -> list[CompiledRule]:
        """The rules worth evaluating on this document."""
        if self.presearcher is None:
            return self.rules
        return [self.rules[i] for i in self.presearcher.candidates(doc)]

    def match(self, entry: Entry) -> list[Match]:
        """The matching rules in rule-set order, each with its clauses' spans."""
        doc = Document(entry)
        return [m for rule in self.candidates(doc) if (m := rule.match(doc)) is not None]
