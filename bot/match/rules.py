"""Rule files: one rule per YAML file, read into typed Rules with every problem tied to a line.

    id: troop-deployment
    title: Troop deployment
    query: >
      (troops OR soldiers OR "ground forces") NEAR/12 (deploy* OR send* OR sent)
    description: optional, for humans
    examples:                      # optional; `newsbot rules test` runs them
      match: ["Kallas refused to rule out sending Estonian troops to Ukraine."]
      no_match: [{title: "Troop morale", body: "The ministry sent a statement."}]
    score:                         # optional: fire only when matched terms weigh enough
      threshold: 3
      terms: [{q: tank*, w: 2}, {q: "air defence", w: 1}]
    chats: [-1001234567890, 4242]  # optional: only these chats may see and follow the topic

An example is a text (searched as the body) or a mapping of title/body/source/url/lang.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from yaml.nodes import Node, ScalarNode

from bot.match.entities import Gazetteer
from bot.match.errors import FileProblem, RuleError, RuleWarning, shown
from bot.match.lint import closest_entity, lint_query
from bot.match.query import EntityRef, Query, QueryError, parse_query, walk
from bot.match.yamlnodes import (
    compose_mapping,
    keys,
    line_of,
    mapping,
    number_value,
    position_in_file,
    sequence,
    text_value,
)
from bot.model import Entry

_RULE_KEYS = ("id", "title", "query", "description", "examples", "score", "chats")
_CHAT_ID = re.compile(r"-?[0-9]{1,19}")
_EXAMPLE_FIELDS = ("title", "body", "source", "url", "lang")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True, slots=True)
class Example:
    """A text the rule must (or must not) match, and the line it was written on."""

    entry: Entry
    should_match: bool
    line: int

    @property
    def label(self) -> str:
        text = self.entry.title or self.entry.body
        return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True, slots=True)
class ScoreTerm:
    text: str
    query: Query
    weight: float


@dataclass(frozen=True, slots=True)
class Score:
    """Weighted terms: the rule fires only when the weights of its matched terms reach the threshold."""

    threshold: float
    terms: tuple[ScoreTerm, ...]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    query_text: str
    query: Query
    path: str = ""
    line: int = 1
    description: str = ""
    examples: tuple[Example, ...] = ()
    score: Score | None = None
    warnings: tuple[RuleWarning, ...] = ()
    chats: frozenset[int] = frozenset()
    """The chats that may see and follow this topic (`chats:`, for desks serving several clients); empty: all."""

    def open_to(self, chat_id: int) -> bool:
        return not self.chats or chat_id in self.chats


def parse_rule(path: str, text: str, gazetteer: Gazetteer) -> Rule:
    """Read one rule file; raise FileProblem at the line of the first problem. Likely mistakes that still
    load (see lint.py) come with the rule as its `warnings`."""
    warnings: list[RuleWarning] = []
    root = compose_mapping(text, "a rule file")
    found = keys(root, _RULE_KEYS, ("id", "title", "query"), "the rule")
    id_node = found["id"][1]
    rule_id = text_value(id_node, "id")
    if not _ID.fullmatch(rule_id):
        raise FileProblem(line_of(id_node), f"id {shown(rule_id)} may hold only letters, digits, '-', '_' and '.'")
    query_node = found["query"][1]
    query_text = text_value(query_node, "query")
    query = _query(_Source(path, text, warnings), query_node, gazetteer, "query")
    description = text_value(found["description"][1], "description") if "description" in found else ""
    examples = _examples(found["examples"][1]) if "examples" in found else ()
    score = _score(_Source(path, text, warnings), found["score"][1], gazetteer) if "score" in found else None
    chats = _chats(found["chats"][1]) if "chats" in found else frozenset()
    return Rule(
        id=rule_id,
        title=text_value(found["title"][1], "title"),
        query_text=" ".join(query_text.split()),
        query=query,
        path=path,
        line=line_of(id_node),
        description=description,
        examples=examples,
        score=score,
        warnings=tuple(warnings),
        chats=chats,
    )


def _chats(node: Node) -> frozenset[int]:
    ids = []
    for item in sequence(node, "chats"):
        if not (isinstance(item, ScalarNode) and _CHAT_ID.fullmatch(str(item.value).strip())):
            raise FileProblem(line_of(item), "chats must list chat ids, whole numbers such as -1001234567890")
        ids.append(int(str(item.value).strip()))
    return frozenset(ids)


@dataclass(frozen=True, slots=True)
class _Source:
    """The rule file being read, and the warnings found in it so far."""

    path: str
    text: str
    warnings: list[RuleWarning]


def _query(source: _Source, node: Node, gazetteer: Gazetteer, what: str) -> Query:
    """Parse a query scalar, pointing errors and warnings at the file line (and column) where they occur."""
    text_value(node, what)
    assert isinstance(node, ScalarNode)
    value = str(node.value)
    try:
        query = parse_query(value)
        for part in walk(query):
            if isinstance(part, EntityRef) and part.entity_id not in gazetteer:
                raise QueryError(_unknown_entity(part.entity_id, gazetteer), part.source.offset, value)
    except QueryError as e:
        line, column = position_in_file(source.text, node, min(e.offset, len(value.rstrip())))
        raise FileProblem(line, f"{what}: {e.message} (column {column}){_likely_cause(value, e)}") from None
    for lint in lint_query(value):
        line, column = position_in_file(source.text, node, lint.offset)
        source.warnings.append(RuleWarning(source.path, line, f"{what}: {lint.message} (column {column})"))
    return query


def _likely_cause(value: str, error: QueryError) -> str:
    """A likely mistake just where a query fails (`(deploy* or send*)` beside NEAR), said with the error."""
    near = [lint for lint in lint_query(value) if error.offset <= lint.offset < error.offset + 80]
    return f"; {near[0].message}" if near else ""


def _unknown_entity(entity_id: str, gazetteer: Gazetteer) -> str:
    guess = closest_entity(entity_id, gazetteer.entities)
    if guess:
        return f"unknown entity @{entity_id}; did you mean @{guess}?"
    return f"unknown entity @{entity_id} (no file in rules/entities/ has that id)"


def _examples(node: Node) -> tuple[Example, ...]:
    found = keys(mapping(node, "examples"), ("match", "no_match"), (), "examples")
    examples = []
    for key, should_match in (("match", True), ("no_match", False)):
        if key in found:
            for item in sequence(found[key][1], f"examples.{key}"):
                examples.append(Example(_example_entry(item, key), should_match, line_of(item)))
    return tuple(examples)


def _example_entry(node: Node, key: str) -> Entry:
    if isinstance(node, ScalarNode):
        return Entry(feed_url="", outlet="", url="", title="", summary=text_value(node, f"examples.{key}"))
    fields = keys(mapping(node, f"an example in examples.{key}"), _EXAMPLE_FIELDS, (), "an example")
    values = {name: text_value(value, name) for name, (_, value) in fields.items()}
    return Entry(
        feed_url="",
        outlet=values.get("source", ""),
        url=values.get("url", ""),
        title=values.get("title", ""),
        summary=values.get("body", ""),
        language=values.get("lang"),
    )


def _score(source: _Source, node: Node, gazetteer: Gazetteer) -> Score:
    found = keys(mapping(node, "score"), ("threshold", "terms"), ("threshold", "terms"), "score")
    terms = []
    for item in sequence(found["terms"][1], "score.terms"):
        term = keys(mapping(item, "each of score.terms"), ("q", "w"), ("q", "w"), "a score term")
        query = _query(source, term["q"][1], gazetteer, "score term")
        terms.append(ScoreTerm(text_value(term["q"][1], "q"), query, number_value(term["w"][1], "w")))
    return Score(number_value(found["threshold"][1], "threshold"), tuple(terms))


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The rules that load, the gazetteer they use, and the problems of the files that did not."""

    rules: tuple[Rule, ...]
    gazetteer: Gazetteer
    errors: tuple[RuleError, ...] = ()

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    @property
    def warnings(self) -> tuple[RuleWarning, ...]:
        """The likely mistakes of the rules in force, by file and line."""
        return tuple(sorted((w for rule in self.rules for w in rule.warnings), key=lambda w: (w.path, w.line)))

    def findings(self) -> list[RuleError | RuleWarning]:
        """Problems and warnings together, by file and line, as `newsbot rules check` shows them."""
        return sorted([*self.errors, *self.warnings], key=lambda found: (found.path, found.line))
