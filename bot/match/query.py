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
from dataclasses import dataclass, field, replace

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
    """Parse a query; raise QueryError at the offset of the first problem.

    A valid query is read by _Descent, a hand-written parser of grammar.lark over twice as fast as
    lark's (a rule book of 10,000 files spent most of its loading time here); anything it is unsure of
    (every mistake, and nesting near MAX_DEPTH) goes to lark's parser, which says what is wrong and where.
    """
    if not text.strip():
        raise QueryError("the query is empty", 0, text)
    try:
        return _Descent(text).query()
    except (_Unsure, QueryError):
        return lark_parse(text)


def lark_parse(text: str) -> Query:
    """Parse a query with lark's parser (what parse_query falls back on, and tests compare _Descent with)."""
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
        unclosed = _unclosed_parenthesis(text)
        if unclosed is not None:
            return QueryError("this '(' is never closed: a ')' is missing", unclosed, text)
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


def _unclosed_parenthesis(text: str) -> int | None:
    """The offset of the first '(' no ')' closes (parentheses inside "phrases" do not count), if any."""
    opened: list[int] = []
    in_phrase = False
    for offset, char in enumerate(text):
        if char == '"':
            in_phrase = not in_phrase
        elif in_phrase:
            continue
        elif char == "(":
            opened.append(offset)
        elif char == ")" and opened:
            opened.pop()
    return opened[0] if opened else None


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
            return _term(token.value, token.start_pos or 0, outer or self._source(token.start_pos, token.end_pos))
        if kind == "phrase":
            token = _token(kids[0])
            return _phrase(token.value, token.start_pos or 0, outer or self._source(token.start_pos, token.end_pos))
        if kind == "entity":
            token = _token(kids[0])
            return EntityRef(token.value[1:].casefold(), outer or self._source(token.start_pos, token.end_pos))
        if kind == "field":
            token, child = _token(kids[0]), self.build(kids[1])
            return _field(
                token.value, token.start_pos or 0, child, outer or self._source(token.start_pos, child.source.end)
            )
        if kind == "near":
            left, right = self.build(kids[0]), self.build(kids[2])
            source = outer or self._source(left.source.offset, right.source.end)
            return _near(left, _token(kids[1]).value, right, source)
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


class _Unsure(Exception):
    """The query is not one _Descent reads with certainty: lark's parser takes it (and reports what is wrong)."""


def _scanner(parser: Lark) -> re.Pattern[str]:
    """One pattern of grammar.lark's terminals in the order lark's basic lexer tries them (highest priority,
    then widest), each a named group: the same tokens lark's lexer makes, from the grammar itself."""
    terminals = sorted(
        parser.terminals, key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name)
    )
    return re.compile("|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terminals))


_SCANNER = _scanner(_PARSER)
_IGNORED = frozenset(_PARSER.ignore_tokens)
_OPERAND_STARTS = frozenset(("FIELD", "TERM", "PHRASE", "ENTITY", "LPAR"))
_NOT_STARTS = _OPERAND_STARTS | {"NOT"}
_END = ("$END", "", 0, 0)


class _Descent:
    """grammar.lark read by recursive descent, building the AST as _Builder does from lark's tree.

    It reads valid queries only: at anything else (a token the grammar does not allow there, a check of
    _Builder failing, a tree deeper than MAX_DEPTH) it raises _Unsure or QueryError and lark's parser
    takes over. Each method returns a node and the height lark's tree of it would have, for MAX_DEPTH.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int, int]] = []
        at = 0
        for found in _SCANNER.finditer(text):
            start, end = found.span()
            if start != at:
                raise _Unsure  # a character no terminal starts with
            kind = found.lastgroup or ""
            if kind not in _IGNORED:
                self.tokens.append((kind, found.group(), start, end))
            at = end
        if at != len(text):
            raise _Unsure
        self.tokens.append(_END)
        self.at = 0

    def query(self) -> Query:
        node, height = self.or_expr(0)
        if self.tokens[self.at][0] != "$END" or height > MAX_DEPTH:
            raise _Unsure
        return node

    def _next(self) -> tuple[str, str, int, int]:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def or_expr(self, level: int) -> tuple[Query, int]:
        node, height = self.and_expr(level)
        if self.tokens[self.at][0] != "_OR":
            return node, height
        children = [node]
        while self.tokens[self.at][0] == "_OR":
            self.at += 1
            child, child_height = self.and_expr(level)
            children.append(child)
            height = max(height, child_height)
        return Or(tuple(children), self._span(children[0], children[-1])), height + 1

    def and_expr(self, level: int) -> tuple[Query, int]:
        node, height = self.not_expr(level)
        children = [node]
        while True:
            kind = self.tokens[self.at][0]
            if kind == "_AND":
                self.at += 1
            elif kind not in _NOT_STARTS:
                break
            child, child_height = self.not_expr(level)
            children.append(child)
            height = max(height, child_height)
        if len(children) == 1:
            return node, height
        return And(tuple(children), self._span(children[0], children[-1])), height + 1

    def not_expr(self, level: int) -> tuple[Query, int]:
        if self.tokens[self.at][0] != "NOT":
            return self.near_expr(level)
        _, _, start, _ = self._next()
        child, height = self.not_expr(self._deeper(level))
        return Not(child, Source(start, child.source.end, self.text)), height + 1

    def near_expr(self, level: int) -> tuple[Query, int]:
        node, height = self.operand(level)
        while self.tokens[self.at][0] == "NEAR_OP":
            operator = self._next()[1]
            right, right_height = self.operand(level)
            node = _near(node, operator, right, self._span(node, right))
            height = max(height, right_height) + 1
        return node, height

    def operand(self, level: int) -> tuple[Query, int]:
        kind, value, start, end = self._next()
        if kind == "TERM":
            return _term(value, start, Source(start, end, self.text)), 1
        if kind == "PHRASE":
            return _phrase(value, start, Source(start, end, self.text)), 1
        if kind == "ENTITY":
            return EntityRef(value[1:].casefold(), Source(start, end, self.text)), 1
        if kind == "FIELD":
            child, height = self.operand(self._deeper(level))
            return _field(value, start, child, Source(start, child.source.end, self.text)), height + 1
        if kind == "LPAR":
            inner, height = self.or_expr(self._deeper(level))
            closing = self._next()
            if closing[0] != "RPAR":
                raise _Unsure
            return _sourced(inner, Source(start, closing[3], self.text)), height + 1
        raise _Unsure

    def _deeper(self, level: int) -> int:
        """One more nested NOT, field or group; past MAX_DEPTH lark's parser says so (and this one never
        recurses deeper than that)."""
        if level >= MAX_DEPTH:
            raise _Unsure
        return level + 1

    def _span(self, first: Query, last: Query) -> Source:
        return Source(first.source.offset, last.source.end, self.text)


def _sourced(node: Query, source: Source) -> Query:
    """The node with the source of the parentheses around it (the outermost pair counts, as in _Builder)."""
    return replace(node, source=source)


# --- what the grammar cannot say, checked by both parsers -------------------------------------------------


def _term(value: str, start: int, source: Source) -> Phrase:
    if _MISSPELT_NEAR.fullmatch(value):
        raise QueryError(f"{value!r}: write NEAR/n or ONEAR/n with a number, or NEAR/s", start, source.query)
    return Phrase(_words(value, start, source.query), source)


def _phrase(value: str, start: int, source: Source) -> Phrase:
    if not value[1:-1].strip():
        raise QueryError("empty phrase", start, source.query)
    return Phrase(_words(value[1:-1], start, source.query), source)


def _words(text: str, start: int, query: str) -> tuple[str, ...]:
    words = pattern_words(text)
    if not words:
        raise QueryError(f"{text!r} has no letters or digits to search for", start, query)
    if not all(w.strip(WILDCARDS) for w in words):
        raise QueryError(f"{text!r}: a wildcard needs letters next to it", start, query)
    return words


def _field(value: str, start: int, child: Query, source: Source) -> Field:
    name = value[:-1].lower()
    if name not in FIELDS:
        known = ", ".join(f"{f}:" for f in FIELDS)
        raise QueryError(f"unknown field {value!r} (known: {known})", start, source.query)
    return Field(name, child, source)


def _near(left: Query, operator: str, right: Query, source: Source) -> Near:
    for side in (left, right):
        if not _positional(side):
            raise QueryError(
                f"{side.source.text!r} cannot stand beside {operator}: its sides must be words, "
                "phrases, @entities or OR-groups of them (AND and NOT have no position)",
                side.source.offset,
                source.query,
            )
    ordered = operator.startswith("O")
    amount = operator.split("/", 1)[1]
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
