"""The query language's syntax: precedence, operators, fields, and errors with their position."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import fields, is_dataclass

import pytest

from bot.match.query import (
    And,
    EntityRef,
    Field,
    Near,
    Not,
    Phrase,
    Query,
    QueryError,
    Source,
    _Descent,
    _Unsure,
    clauses,
    lark_parse,
    parse_query,
)


def shape(node: Query) -> str:
    """A compact, fully parenthesised rendering of the tree, so precedence is visible in asserts."""
    if isinstance(node, Phrase):
        return " ".join(node.words) if len(node.words) == 1 else '"' + " ".join(node.words) + '"'
    if isinstance(node, EntityRef):
        return "@" + node.entity_id
    if isinstance(node, Field):
        return f"{node.name}:{shape(node.child)}"
    if isinstance(node, Near):
        op = ("ONEAR" if node.ordered else "NEAR") + "/" + ("s" if node.distance is None else str(node.distance))
        return f"({shape(node.left)} {op} {shape(node.right)})"
    if isinstance(node, Not):
        return f"(NOT {shape(node.child)})"
    if isinstance(node, And):
        return "(" + " AND ".join(shape(c) for c in node.children) + ")"
    return "(" + " OR ".join(shape(c) for c in node.children) + ")"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("a OR b c", "(a OR (b AND c))"),
        ("a b OR c", "((a AND b) OR c)"),
        ("a AND b OR c AND d", "((a AND b) OR (c AND d))"),
        ("a NOT b", "(a AND (NOT b))"),
        ("NOT a b", "((NOT a) AND b)"),
        ("NOT a NEAR/3 b", "(NOT (a NEAR/3 b))"),
        ("a NEAR/3 b OR c", "((a NEAR/3 b) OR c)"),
        ("a NEAR/3 b c", "((a NEAR/3 b) AND c)"),
        ("a NEAR/3 b NEAR/5 c", "((a NEAR/3 b) NEAR/5 c)"),
        ("(a OR b) NEAR/3 c", "((a OR b) NEAR/3 c)"),
        ("a ONEAR/2 b", "(a ONEAR/2 b)"),
        ("a NEAR/s b", "(a NEAR/s b)"),
        ("title:a b", "(title:a AND b)"),
        ("title:(a OR b) NEAR/4 c", "(title:(a OR b) NEAR/4 c)"),
        ("NOT lang:ru", "(NOT lang:ru)"),
        ('"Ground  Forces" deploy*', '("ground forces" AND deploy*)'),
        ("@Kaja-Kallas OR Kallas", "(@kaja-kallas OR kallas)"),
        ("F-16 U.S.", '("f 16" AND "u s")'),
        ("ORANGE ANDROID NOTEBOOK", "(orange AND android AND notebook)"),
        ("troops and soldiers", "(troops AND and AND soldiers)"),
        ("a NOT NOT b", "(a AND (NOT (NOT b)))"),
        ("((a))", "a"),
    ],
)
def test_precedence_and_operators(query: str, expected: str) -> None:
    assert shape(parse_query(query)) == expected


def test_wildcards_and_diacritics_are_kept_in_folded_word_patterns() -> None:
    query = parse_query('Séndi?g* "wom?n soldier*"')
    assert isinstance(query, And)
    assert [c.words for c in query.children if isinstance(c, Phrase)] == [("sendi?g*",), ("wom?n", "soldier*")]


def test_clauses_keep_the_text_as_written_with_spaces_collapsed() -> None:
    query = parse_query('(troops OR\n   soldiers)  NEAR/5 deploy*\nNOT  "war  game"')
    assert [c.source.text for c in clauses(query)] == [
        "(troops OR soldiers) NEAR/5 deploy*",
        'NOT "war game"',
    ]
    assert [c.source.text for c in clauses(parse_query("a OR b"))] == ["a", "b"]
    assert [c.source.text for c in clauses(parse_query("a NEAR/2 b"))] == ["a NEAR/2 b"]


@pytest.mark.parametrize(
    ("query", "message", "offset"),
    [
        ("", "the query is empty", 0),
        ("troops AND", "the query ends too early", 10),
        ("(troops OR soldiers", "this '(' is never closed", 0),
        ('troops AND ("a (b" OR (c)', "this '(' is never closed", 11),
        ("troops)", "unexpected ')'", 6),
        ("troops OR OR soldiers", "unexpected 'OR'", 10),
        ("NEAR/5 troops", "unexpected 'NEAR/5'", 0),
        ('troops "ground forces', "unclosed quote", 7),
        ("troops -parade", "write NOT before a term", 7),
        ("troops NEAR/x deploy", "write NEAR/n or ONEAR/n", 7),
        ("body:troops", "unknown field 'body:'", 0),
        ("troops title:", "the query ends too early", 13),
        ("*", "a wildcard needs letters", 0),
        ('troops ""', "empty phrase", 7),
        ("troops NEAR/5 (deploy AND send)", "cannot stand beside NEAR/5", 14),
        ("(NOT troops) ONEAR/5 deploy", "cannot stand beside ONEAR/5", 0),
        ("troops ...", "has no letters or digits", 7),
    ],
)
def test_errors_name_the_offset_of_the_problem(query: str, message: str, offset: int) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    assert message in caught.value.message
    assert caught.value.offset == offset


def test_errors_carry_line_and_column_within_the_query() -> None:
    with pytest.raises(QueryError) as caught:
        parse_query("(troops OR soldiers)\n  NEAR/12\n  (deploy* OR)")
    assert (caught.value.line, caught.value.column) == (3, 14)


def _written(node: object) -> object:
    """A node with everything, its sources' offsets included (dataclass equality leaves sources out)."""
    if isinstance(node, tuple):
        return tuple(_written(child) for child in node)
    if isinstance(node, Source):
        return (node.offset, node.end)
    if is_dataclass(node):
        return (type(node).__name__, *(_written(getattr(node, f.name)) for f in fields(node)))
    return node


def _outcome(parse: Callable[[str], Query], text: str) -> object:
    try:
        return _written(parse(text))
    except QueryError as e:
        return (e.message, e.offset)


def _generated(rng: random.Random, depth: int = 0) -> str:
    """A query of the grammar's every construct (valid unless a NEAR gets an AND or NOT beside it)."""
    roll = rng.random() if depth < 4 else 0.0
    if roll < 0.45:
        return rng.choice(["troops", "deploy*", "Séndi?g", '"ground  forces"', "@kaja-kallas", "F-16", "ORANGE", "x"])
    if roll < 0.55:
        return f"{rng.choice(['title:', 'lang:', 'URL:'])}{_generated(rng, depth + 1)}"
    if roll < 0.65:
        return f"NOT {_generated(rng, depth + 1)}"
    if roll < 0.75:
        return f"({_generated(rng, depth + 1)})"
    operator = rng.choice([" OR ", " AND ", " ", "\n  ", " NEAR/3 ", " ONEAR/s ", " NEAR/12 "])
    return operator.join(_generated(rng, depth + 1) for _ in range(rng.randint(2, 3)))


def test_the_fast_parser_reads_every_query_as_lark_does() -> None:
    """parse_query reads valid queries by recursive descent and hands everything else to lark: the trees (sources
    included) and the errors must be lark's own, on queries of every construct, broken ones and token soup."""
    rng = random.Random(20261207)
    pieces = [
        "a",
        "OR",
        "AND",
        "NOT",
        "NEAR/3",
        "ONEAR/s",
        "(",
        ")",
        '"x y"',
        '""',
        "title:",
        "body:",
        "@e-1",
        "*",
        "x*",
        "-",
        "NEAR/x",
        "f-16",
        ":",
        "\n",
        "٣",
        "NEAR/٣",
        "OR(",
        "ANDROID",
        "NOT:",
        '"',
        "ORx",
    ]
    queries = [_generated(rng) for _ in range(3000)]
    queries += [q[:i] + rng.choice(pieces) + q[i:] for q in queries[:1000] for i in [rng.randrange(len(q) + 1)]]
    queries += [" ".join(rng.choice(pieces) for _ in range(rng.randint(1, 7))) for _ in range(3000)]
    queries += [
        "(" * 60 + "a" + ")" * 60,
        "(" * 120 + "a" + ")" * 120,
        " NEAR/1 ".join(["a"] * 120),
        "NOT " * 120 + "a",
    ]
    read_fast = 0
    for text in filter(str.strip, queries):
        assert _outcome(parse_query, text) == _outcome(lark_parse, text), text
        try:
            _Descent(text).query()
            read_fast += 1
        except (_Unsure, QueryError):
            pass
    assert read_fast > 2500  # the valid ones went the fast way: the comparison is not lark against itself
