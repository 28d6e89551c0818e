"""Running the examples written inside rule files (`newsbot rules test`)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.match.document import Document
from bot.match.errors import RuleError
from bot.match.evaluate import Compiler
from bot.match.matcher import compile_rule
from bot.match.rules import Example, Rule, RuleSet


@dataclass(frozen=True, slots=True)
class ExampleResult:
    rule: Rule
    example: Example
    matched: bool

    @property
    def passed(self) -> bool:
        return self.matched == self.example.should_match

    def error(self) -> RuleError:
        """The failure as `file:line: message`, pointing at the example."""
        wanted = "should match but does not" if self.example.should_match else "should not match but does"
        return RuleError(self.rule.path, self.example.line, f"example {wanted}: {self.example.label!r}")


def check_rule(rule: Rule, ruleset: RuleSet) -> list[ExampleResult]:
    """Every example of one rule, with whether the rule matched it."""
    compiled = compile_rule(rule, Compiler(ruleset.gazetteer))
    return [ExampleResult(rule, ex, compiled.match(Document(ex.entry)) is not None) for ex in rule.examples]


def run_examples(ruleset: RuleSet) -> list[ExampleResult]:
    """Every example of every rule, in rule order."""
    return [result for rule in ruleset.rules for result in check_rule(rule, ruleset)]
