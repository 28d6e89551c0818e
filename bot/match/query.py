"""The rule query language: text -> typed syntax tree.

Media-monitoring Boolean as analysts know it from Meltwater, Talkwalker or Lexis. Operators are
upper case (`AND`, `OR`, `NOT`, `NEAR/5`); lower-case "and"/"or"/"not" are ordinary words.

    troops NEAR/12 (deploy* OR send*)       words near each other, any order
    "ground forces" ONEAR/3 Ukraine         in this order, at most 3 words between
    @kaja-kallas NEAR/s resign*             in the same sentence (ONEAR/s: and in this order)
    title:(sanction* OR embargo) NOT lang:ru

Precedence, loosest binding first (fixed by grammar.lark):

    1. a OR b                    either
    2. a AND b,  a b             both (two terms side by side mean AND)
    3. NOT a                     a is absent; `a NOT b` reads `a AND NOT b`
    4. a NEAR/n b, a ONEAR/n b,  positional, left to right: (a NEAR/3 b) NEAR/5 c
       a NEAR/s b
    5. title: source: lang: url: field prefix on the next term, phrase, entity or group
    6. word, wild*card, "a phrase", @entity, ( ... )

So `a OR b c` is `a OR (b AND c)`, and `NOT a NEAR/3 b` is `NOT (a NEAR/3 b)`.
NEAR/n allows at most n words between its two sides, which may not overlap; the operands of
NEAR must be positional themselves: words, phrases, entities, OR-groups of those or other NEARs.
Words match whole words, case- and diacritic-insensitively; `*` is any run of letters and `?`
one letter, inside a single word. A term with punctuation inside (`F-16`, `U.S.`) is a phrase.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from bot.match.text import WILDCARDS, pattern_words

FIELDS = ("title", "source", "lang", "url")
"""Field prefixes a query may use; unprefixed terms search the title and the body."""

_PARSER = Lark.open("grammar.lark", rel_to=__file__, parser="lalr", lexer="basic")
MAX_DEPTH = 100
"""Deepest nesting of groups, NOT and NEAR a query may have: everything downstream of the parser walks
the tree recursively, and no query written by hand comes near it."""
_MISSPELT_NEAR = re.compile(r"O?NEAR(/.*)?")


class QueryError(Exception):
    """A query that cannot be used: the message, and where in the query (offset, 1-based line and column)."""

    def __init__(self, message: str, offset: int, query: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.line = query.count("\n", 0, offset) + 1
        self.column = offset - (query.rfind("\n", 0, offset) + 1) + 1


@dataclass(frozen=True, slots=True)
class Source:
    """Where a node was written: its offsets in the query (and the query itself)."""

    offset: int
    end: int
    query: str

    @property
    def text(self) -> str:
        """The node as written, spaces collapsed: what a user recognises in an explanation."""
        return " ".join(self.query[self.offset : self.end].split())


@dataclass(frozen=True, slots=True)
class Phrase:
    """One word or several consecutive words; each word pattern may hold `*` / `?` wildcards."""

    words: tuple[str, ...]
    source: Source = field(compare=False)


@dataclass(frozen=True, slots=True)
class EntityRef:
    """`@id`: any name of a gazetteer entity."""

    entity_id: str
    source: Source = field(compare=False)


@dataclass(frozen=True, slots=True)
class Field:
    """`title:x`: x must occur in that field of the entry."""

    name: str
    child: Query
    source: Source = field(compare=False)


@dataclass(frozen=True, slots=True)
class Near:
    """Both sides within `distance` words (None: in the same sentence); `ordered`: left first."""

    left: Query
    right: Query
    distance: int | None
    ordered: bool
    source: Source = field(compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    child: Query
    source: Source = field(compare=False)


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Query, ...]
    source: Source = field(compare=False)


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Query, ...]
    source: Source = field(compare=False)


Query = Phrase | EntityRef | Field | Near | Not | And | Or


def parse_query(text: str) -> Query:
    """Parse a query; raise QueryError at the offset of the first problem."""
    if not text.strip():
        raise QueryError("the query is empty", 0, text)
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as e:
        raise _syntax_error(text, e) from None
    _check_depth(tree, text)
    return _Builder(text).build(tree)


def _check_depth(tree: Tree[Token], text: str) -> None:
    """Refuse a parse tree deeper than MAX_DEPTH, at the first token past the limit (iteratively: no
    recursion before the depth is known to be safe)."""
    stack: list[tuple[Tree[Token] | Token, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Token):
            continue
        if depth > MAX_DEPTH:
            first: Tree[Token] | Token = node
            while isinstance(first, Tree):
                first = first.children[0]
            raise QueryError(
                f"the query nests more than {MAX_DEPTH} levels deep (parentheses, NOT and NEAR); simplify it",
                first.start_pos or 0,
                text,
            )
        stack.extend((child, depth + 1) for child in node.children)


def clauses(query: Query) -> tuple[Query, ...]:
    """The top-level clauses a match is explained by: the parts of a top AND or OR, else the query."""
    if isinstance(query, And | Or):
        return query.children
    return (query,)


def walk(query: Query) -> list[Query]:
    """Every node of a query, parents before children."""
    nodes: list[Query] = [query]
    for node in nodes:
        if isinstance(node, And | Or):
            nodes.extend(node.children)
        elif isinstance(node, Near):
            nodes.extend((node.left, node.right))
        elif isinstance(node, Field | Not):
            nodes.append(node.child)
    return nodes


def _syntax_error(text: str, e: UnexpectedInput) -> QueryError:
    offset = e.pos_in_stream or 0
    if isinstance(e, UnexpectedCharacters):
        char = text[offset]
        if char == '"':
            return QueryError('unclosed quote: a phrase needs a closing "', offset, text)
        if char == "-":
            return QueryError("unexpected '-': write NOT before a term to exclude it", offset, text)
        return QueryError(f"unexpected character {char!r}", offset, text)
    if isinstance(e, UnexpectedToken) and e.token.type == "$END":
        return QueryError(
            "the query ends too early: an operator, field or '(' lacks what follows it",
            len(text.rstrip()),
            text,
        )
    if isinstance(e, UnexpectedToken) and e.token.value == ")":
        return QueryError("unexpected ')': parentheses do not balance", offset, text)
    if isinstance(e, UnexpectedToken):
        return QueryError(f"unexpected {e.token.value!r}", offset, text)
    return QueryError("cannot parse the query", offset, text)


class _Builder:
    """Turns lark's parse tree into the typed AST, checking what the grammar cannot.

    Positions come from the tokens (lark's own position propagation would double the parse time).
    """

    def __init__(self, text: str) -> None:
        self.text = text

    def build(self, tree: Tree[Token] | Token, outer: Source | None = None) -> Query:
        """The AST of a subtree; `outer` is the source of the parentheses around it, if any."""
        if isinstance(tree, Token):
            raise AssertionError(f"unexpected bare token {tree!r}")
        kind = tree.data
        kids = tree.children
        if kind == "group":
            opening, closing = _token(kids[0]), _token(kids[2])
            return self.build(kids[1], outer or self._source(opening.start_pos, closing.end_pos))
        if kind == "term":
            token = _token(kids[0])
            return self._term(token, outer or self._source(token.start_pos, token.end_pos))
        if kind == "phrase":
            token = _token(kids[0])
            return self._phrase(token, outer or self._source(token.start_pos, token.end_pos))
        if kind == "entity":
            token = _token(kids[0])
            return EntityRef(token.value[1:].casefold(), outer or self._source(token.start_pos, token.end_pos))
        if kind == "field":
            token, child = _token(kids[0]), self.build(kids[1])
            return self._field(token, child, outer or self._source(token.start_pos, child.source.end))
        if kind == "near":
            left, right = self.build(kids[0]), self.build(kids[2])
            source = outer or self._source(left.source.offset, right.source.end)
            return self._near(left, _token(kids[1]), right, source)
        if kind == "not_":
            token, child = _token(kids[0]), self.build(kids[1])
            return Not(child, outer or self._source(token.start_pos, child.source.end))
        children = tuple(self.build(k) for k in kids)
        source = outer or self._source(children[0].source.offset, children[-1].source.end)
        if kind == "and_expr":
            return And(children, source)
        if kind == "or_expr":
            return Or(children, source)
        raise AssertionError(f"grammar rule {kind!r} has no AST node")

    def _source(self, start: int | None, end: int | None) -> Source:
        return Source(start or 0, end or 0, self.text)

    def _term(self, token: Token, source: Source) -> Phrase:
        if _MISSPELT_NEAR.fullmatch(token.value):
            raise QueryError(
                f"{token.value!r}: write NEAR/n or ONEAR/n with a number, or NEAR/s", token.start_pos or 0, self.text
            )
        return Phrase(self._words(token.value, token), source)

    def _phrase(self, token: Token, source: Source) -> Phrase:
        if not token.value[1:-1].strip():
            raise QueryError("empty phrase", token.start_pos or 0, self.text)
        return Phrase(self._words(token.value[1:-1], token), source)

    def _words(self, text: str, token: Token) -> tuple[str, ...]:
        words = pattern_words(text)
        if not words:
            raise QueryError(f"{text!r} has no letters or digits to search for", token.start_pos or 0, self.text)
        if any(all(c in WILDCARDS for c in w) for w in words):
            raise QueryError(f"{text!r}: a wildcard needs letters next to it", token.start_pos or 0, self.text)
        return words

    def _field(self, token: Token, child: Query, source: Source) -> Field:
        name = token.value[:-1].lower()
        if name not in FIELDS:
            known = ", ".join(f"{f}:" for f in FIELDS)
            raise QueryError(f"unknown field {token.value!r} (known: {known})", token.start_pos or 0, self.text)
        return Field(name, child, source)

    def _near(self, left: Query, token: Token, right: Query, source: Source) -> Near:
        for side in (left, right):
            if not _positional(side):
                raise QueryError(
                    f"{side.source.text!r} cannot stand beside {token.value}: its sides must be words, "
                    "phrases, @entities or OR-groups of them (AND and NOT have no position)",
                    side.source.offset,
                    self.text,
                )
        ordered = token.value.startswith("O")
        amount = token.value.split("/", 1)[1]
        distance = None if amount == "s" else int(amount)
        return Near(left, right, distance, ordered, source)


def _positional(node: Query) -> bool:
    if isinstance(node, Or):
        return all(_positional(c) for c in node.children)
    if isinstance(node, Field):
        return _positional(node.child)
    return isinstance(node, Phrase | EntityRef | Near)


def _token(node: Tree[Token] | Token) -> Token:
    if not isinstance(node, Token):
        raise AssertionError(f"expected a token, got {node!r}")
    return node
