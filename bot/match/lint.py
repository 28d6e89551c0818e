"""Likely mistakes in a query that still parses: it loads, but it cannot mean what its author meant.

    Iran near/5 talks        the words "near 5" must appear: the operator is NEAR/5
    troops or soldiers       the word "or" must appear: the operator is OR
    troops, soldiers         a comma separates nothing: both words are required
    don"t                    a quote inside a word opens a phrase
    “ground forces”          typographic quotes make no phrase

`lint_query` reads the query text once, left to right (linear, no backtracking), and returns each
finding with the offset where it starts, so callers can point at the file line and column.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Lint:
    """One likely mistake: where in the query it starts, and one sentence saying what to write instead."""

    offset: int
    message: str


@dataclass(slots=True)
class _Token:
    """A run of characters between spaces and parentheses: a bare term, or a whole "phrase" (`quoted`)."""

    offset: int
    text: str
    quoted: bool = False


_CONNECTIVES = {
    "and": "write AND, or nothing: terms side by side must all appear",
    "or": "write OR for either side",
    "not": "write NOT to exclude what follows",
}
_FOREIGN_PROXIMITY = ("w/", "pre/", "/")
"""Proximity operators of other search tools (Lexis `w/5`, `pre/5`, dtSearch `/5`)."""
_OTHER_QUOTES = "'‘’“”„‟«»"
"""Quotes that make no phrase: single and typographic ones."""
_SHORTEST_STEM = 3
_TOKENS = re.compile(r'"[^"]*"?|[^\s()"]+')
"""A phrase (to its closing quote, if any) or a run of anything else but spaces and parentheses: each
character is looked at once, there is nothing to backtrack."""


def lint_query(text: str) -> list[Lint]:
    """Every likely mistake in a query that parses, in order of position."""
    found: list[Lint] = []
    tokens = _scan(text, found)
    comma_reported = quotes_reported = False
    for index, token in enumerate(tokens):
        if token.quoted:
            continue
        between = 0 < index < len(tokens) - 1
        bare = _without_field(token.text)
        if _other_quotes(bare):
            if not quotes_reported:
                quotes_reported = True
                found.append(
                    Lint(token.offset, f'{_shown(bare)}: only straight double quotes make a phrase ("ground forces")')
                )
            continue
        problem = _token_problem(bare, between)
        if problem:
            found.append(Lint(token.offset, problem))
        if not comma_reported and index < len(tokens) - 1 and _ends_in_comma(token.text):
            comma_reported = True
            found.append(
                Lint(
                    token.offset,
                    f"{_shown(token.text)}: a comma separates nothing here, so every word of the list must appear; "
                    "write OR between alternatives",
                )
            )
    return sorted(found, key=lambda lint: lint.offset)


def _scan(text: str, found: list[Lint]) -> list[_Token]:
    """The tokens of a query (phrases whole); quotes glued to words are reported on the way."""
    tokens: list[_Token] = []
    for token in _TOKENS.finditer(text):
        start, end, value = token.start(), token.end(), token.group()
        if value[0] != '"':
            tokens.append(_Token(start, value))
            continue
        if len(value) == 1 or value[-1] != '"':
            break  # unclosed: the parser reports it
        if start > 0 and _is_word_char(text[start - 1]):
            found.append(Lint(start, _glued_quote(text, start)))
        elif end < len(text) and _is_word_char(text[end]):
            found.append(Lint(end - 1, _glued_quote(text, end - 1)))
        tokens.append(_Token(start, value, quoted=True))
    return tokens


def _glued_quote(text: str, at: int) -> str:
    start = at
    while start > 0 and not text[start - 1].isspace() and text[start - 1] not in "()":
        start -= 1
    end = at + 1
    while end < len(text) and not text[end].isspace() and text[end] not in "()":
        end += 1
    return (
        f"{_shown(text[start:end])}: a double quote inside a word opens or closes a phrase; "
        'put spaces around "a phrase", or leave the quote out'
    )


def _token_problem(token: str, between: bool) -> str | None:
    lowered = token.lower()
    if (
        token.isalnum()
        and (token == token.upper() or lowered not in _CONNECTIVES)
        and not lowered.startswith(("near", "onear"))
    ):
        return None  # a plain word or an operator, as most are: none of the spellings below can be in it
    if _is_operator_spelling(lowered) and token != _operator(lowered):
        return (
            f"{_shown(token)} is read as the words {_words(token)}, not as an operator; "
            f"write {_operator(lowered)} (operators are upper case)"
        )
    foreign = _foreign_proximity(lowered)
    if foreign is not None:
        return f"{_shown(token)} is not an operator here and is read as the words {_words(token)}; write {foreign}"
    if between and lowered in _CONNECTIVES and token != token.upper():
        return (
            f"{_shown(token)} is the ordinary word {token!r} here, which must appear in the story; "
            + _CONNECTIVES[lowered]
        )
    if token[0] == "+":
        return f"{_shown(token)}: '+' means nothing here; terms side by side must all appear anyway"
    if token[0] == "~":
        return f"{_shown(token)}: '~' is not proximity here; write a NEAR/5 b"
    if _joins_words(token, "|&"):
        return f"{_shown(token)} is read as one phrase; write OR (either) or AND (both) between words"
    stem = _short_stem(token)
    if stem is not None:
        return (
            f"{_shown(token)} matches every word that starts with {stem!r}; "
            f"give a wildcard at least {_SHORTEST_STEM} letters before it"
        )
    return None


def _other_quotes(token: str) -> bool:
    """`'ground`, `“ground`, `forces”`: quotes that were meant to make a phrase (`rock'n'roll` is a word)."""
    return token[0] in _OTHER_QUOTES or (token[-1] in _OTHER_QUOTES and token[-1] != "'")


def _without_field(token: str) -> str:
    """`title:near/5` is checked as `near/5`."""
    field, colon, rest = token.partition(":")
    return rest if colon and rest and field.isalpha() else token


def _is_operator_spelling(lowered: str) -> bool:
    """`near/5`, `onear/12`, `near/s` in any case."""
    head, slash, amount = lowered.partition("/")
    return bool(slash) and head in ("near", "onear") and (amount == "s" or (amount.isdigit() and amount.isascii()))


def _operator(lowered: str) -> str:
    head, _, amount = lowered.partition("/")
    return f"{head.upper()}/{amount}"


def _foreign_proximity(lowered: str) -> str | None:
    """NEAR/n for `w/5`, `pre/5`, `/5`, `w/s`, `near5`: proximity as other tools write it."""
    if "/" not in lowered and not lowered.startswith(("near", "onear")):
        return None
    for prefix in _FOREIGN_PROXIMITY:
        amount = lowered.removeprefix(prefix)
        if lowered.startswith(prefix) and amount and (amount in ("s", "p") or amount.isdecimal()):
            amount = "s" if amount in ("s", "p") else amount
            return f"ONEAR/{amount}" if prefix == "pre/" else f"NEAR/{amount}"
    for head in ("near", "onear"):
        amount = lowered.removeprefix(head)
        if lowered.startswith(head) and amount.isdecimal() and amount.isascii():
            return f"{head.upper()}/{amount}"
    return None


def _ends_in_comma(token: str) -> bool:
    return len(token) > 1 and token[-1] in ",;" and _is_word_char(token[-2])


def _joins_words(token: str, symbols: str) -> bool:
    """A symbol standing between two words, as in `troops|soldiers` or `US&Iran`."""
    if not any(symbol in token for symbol in symbols):
        return False
    return any(
        c in symbols and 0 < i < len(token) - 1 and _is_word_char(token[i - 1]) and _is_word_char(token[i + 1])
        for i, c in enumerate(token)
    )


def _short_stem(token: str) -> str | None:
    """The letters before a trailing-or-inner `*` when there are fewer than three of them (`de*`, `EU*`)."""
    star = token.find("*")
    if star <= 0 or not all(_is_word_char(c) for c in token[:star]):
        return None
    return token[:star] if star < _SHORTEST_STEM else None


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def _words(token: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in token).split()
    return '"' + " ".join(words) + '"'


def _shown(token: str) -> str:
    return repr(token if len(token) <= 40 else token[:37] + "...")


def closest_entity(name: str, known: Collection[str]) -> str | None:
    """The known entity id a mistyped `@name` most likely meant (`@kaja` -> `kaja-kallas`), or None."""
    starting = sorted(entity for entity in known if entity.startswith(name + "-"))
    if len(starting) == 1:
        return starting[0]
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return close[0] if close else None
