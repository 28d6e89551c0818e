"""Which rules match an entry, and why."""

from __future__ import annotations

from dataclasses import dataclass

from bot.match.document import Document
from bot.match.evaluate import CompiledQuery, Compiler
from bot.match.gc_pause import collector_paused
from bot.match.presearch import Anchors, Presearcher, anchors
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
    `reusing`, a matcher of an earlier version of the rule set: rules it holds unchanged (the same
    objects, with the same gazetteer) keep their compiled form and anchors, so a reload after an edit
    compiles only the rules that changed.
    """

    def __init__(self, ruleset: RuleSet, *, presearch: bool = True, reusing: Matcher | None = None) -> None:
        self.ruleset = ruleset
        if reusing is not None and (
            reusing.ruleset.gazetteer is not ruleset.gazetteer or (reusing.presearcher is None) == presearch
        ):
            reusing = None
        self.compiler: Compiler = reusing.compiler if reusing is not None else Compiler(ruleset.gazetteer)
        known = {id(c.rule): (c, a) for c, a in zip(reusing.rules, reusing.anchors, strict=True)} if reusing else {}
        self.rules: list[CompiledRule] = []
        self.anchors: list[list[Anchors]] = []
        with collector_paused():
            for rule in ruleset.rules:
                compiled, keys = known.get(id(rule), (None, []))
                if compiled is None or compiled.rule is not rule:
                    compiled = compile_rule(rule, self.compiler)
                    keys = anchors(rule.query, ruleset.gazetteer) if presearch else []
                self.rules.append(compiled)
                self.anchors.append(keys)
            earlier = reusing.presearcher if reusing is not None else None
            self.presearcher: Presearcher | None = Presearcher(self.anchors, reusing=earlier) if presearch else None

    def candidates(self, doc: Document) -> list[CompiledRule]:
        """The rules worth evaluating on this document."""
        if self.presearcher is None:
            return self.rules
        return [self.rules[i] for i in self.presearcher.candidates(doc)]

    def match(self, entry: Entry) -> list[Match]:
        """The matching rules in rule-set order, each with its clauses' spans."""
        doc = Document(entry)
        return [m for rule in self.candidates(doc) if (m := rule.match(doc)) is not None]
