"""Reading the YAML people write by hand (rule, entity, config and feeds files): one parse that keeps every
node's line, limits that no hostile file gets past, and mistakes said in plain words at their cause.

    root = compose(text)          # PyYAML nodes with marks, or None for an empty file; else YamlProblem
    values = plain_values(root)   # dicts, lists and scalars, for pydantic

The nodes come from libyaml's C parser when PyYAML has it (about 40 times faster than the pure-Python parser,
the fallback). libyaml refuses nesting past 1,000 levels by itself, which also bounds the recursion of its
composer; the pure-Python composer recurses freely, so without libyaml an iterative pass over the events
checks the nesting first. Both loaders give the same nodes, marks, limits and messages.

Limits, checked on the composed nodes before anything walks them recursively or expands them:
- nesting: lists and mappings at most MAX_DEPTH deep, counted through aliases;
- aliases: a document whose aliases expand it past max(MAX_EXPANDED, 10x its own size) is refused (a YAML
  "billion laughs" of a few lines would otherwise become gigabytes in whatever copies its values), and an
  alias inside the collection it names (a cycle) is refused too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

import yaml
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode

MAX_DEPTH = 64
MAX_EXPANDED = 100_000
"""Values (a scalar counts one per 80 characters) a document may expand to through aliases, at the least."""
EXPANSION_RATIO = 10
_SCALAR_UNIT = 80

Loader: TypeAlias = "type[yaml.SafeLoader] | type[yaml.CSafeLoader]"
"""A quoted alias: PyYAML built without libyaml has no CSafeLoader to name at run time."""
LOADER: Loader = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
"""libyaml's loader where PyYAML was built with it, else the pure-Python one."""


class YamlProblem(Exception):
    """Why a YAML text cannot be used: one plain sentence, and the 1-based line (and column, 0 if unknown)
    of its cause."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


def compose(text: str, loader: Loader = LOADER) -> Node | None:
    """The single document of `text` as PyYAML nodes (None when it holds none); raise YamlProblem."""
    text = text.removeprefix("\ufeff")  # both loaders skip it, but count it in marks differently
    try:
        if loader is yaml.SafeLoader:
            _check_nesting_events(text)
        node = yaml.compose(text, Loader=loader)
    except yaml.reader.ReaderError as e:
        line, column = _position(text, e.position)
        code = e.character if isinstance(e.character, int) else ord(e.character)
        raise YamlProblem(
            line, column, f"the character U+{code:04X} at line {line} column {column} cannot appear in YAML; remove it"
        ) from None
    except yaml.MarkedYAMLError as e:
        if "maximum nesting depth" in str(e.problem):  # libyaml's own limit, past ours: find where ours passed
            _check_nesting_events(text)
        raise explain(text, e) from None
    if node is not None:
        if "&" in text:  # anchors, so maybe aliases: the document may be bigger and deeper than its text
            _check_limits(node)
        else:
            _check_tree_depth(node)
    return node


def plain_values(node: Node | None) -> Any:
    """The values of composed nodes (None for none), as yaml.safe_load gives them; aliases stay shared. A value
    its tag cannot make (`!!python/object`, a 13th month) is a YamlProblem at its line."""
    if node is None:
        return None
    try:
        return _Values().construct_document(node)
    except yaml.MarkedYAMLError as e:  # a mapping's own complaint, a list as a key say
        line, column = _where(e.problem_mark or node.start_mark)
        reason = "a list or mapping cannot be a key" if "unhashable" in str(e.problem) else e.problem
        raise YamlProblem(line, column, f"the value at line {line} column {column} cannot be used: {reason}") from None


class _Values(yaml.constructor.SafeConstructor):
    """SafeConstructor, with the node at fault named when a value cannot be made."""

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except YamlProblem:
            raise
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as e:
            line, column = _where(node.start_mark)
            tag = str(node.tag).removeprefix("tag:yaml.org,2002:")
            if isinstance(e, yaml.constructor.ConstructorError) and "could not determine a constructor" in str(e):
                reason = f"the tag {tag!r} is not one of YAML's plain types"
            else:
                reason = f"it does not read as {tag} ({getattr(e, 'problem', None) or e})"
            raise YamlProblem(
                line,
                column,
                f"the value at line {line} column {column} cannot be used: {reason}; quote it if it is text",
            ) from None


# --- limits -----------------------------------------------------------------------------------------------


def _check_nesting_events(text: str) -> None:
    """Raise YamlProblem at the first collection nested deeper than MAX_DEPTH, from the event stream (which
    the pure-Python parser makes without recursion)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                raise _too_deep(mark.line + 1 if mark else 1)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _too_deep(line: int) -> YamlProblem:
    return YamlProblem(line, 0, f"lists and mappings nest more than {MAX_DEPTH} levels deep")


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


@dataclass(slots=True)
class _Size:
    depth: int
    expanded: int


def _check_limits(root: Node) -> None:
    """Depth and expansion of the document as aliases unfold it, in one post-order pass over its distinct
    nodes (iterative: nothing here recurses, whatever the nesting)."""
    sizes: dict[int, _Size] = {}
    open_: set[int] = set()
    own = 0
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            kids = [sizes[id(child)] for child in _children(node)]
            sizes[key] = _Size(1 + max((k.depth for k in kids), default=0), 1 + sum(k.expanded for k in kids))
            open_.discard(key)
            continue
        if key in sizes:
            continue
        if key in open_:
            raise _cycle(node)
        if isinstance(node, ScalarNode):
            units = 1 + len(node.value) // _SCALAR_UNIT
            sizes[key] = _Size(0, units)
            own += units
            continue
        own += 1
        open_.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(_children(node)) if id(child) not in sizes)
    if sizes[id(root)].depth > MAX_DEPTH:
        raise _too_deep(_first_at_depth(root, sizes))
    limit = max(MAX_EXPANDED, EXPANSION_RATIO * own)
    if sizes[id(root)].expanded > limit:
        node = _smallest_over(root, sizes, limit)
        line = int(node.start_mark.line) + 1
        kind = "list" if isinstance(node, SequenceNode) else "mapping"
        raise YamlProblem(
            line,
            int(node.start_mark.column) + 1,
            f"the aliases in the {kind} on line {line} expand it to more than {limit:,} values, which no "
            'hand-written file needs (a YAML "billion laughs")',
        )


def _check_tree_depth(root: Node) -> None:
    """The nesting limit for a document without aliases: a plain walk of its tree, iterative."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _too_deep(_first_at_depth(root))
        if node.__class__ is MappingNode:
            stack.extend((value, depth + 1) for _, value in node.value if value.__class__ is not ScalarNode)
        elif node.__class__ is SequenceNode:
            stack.extend((item, depth + 1) for item in node.value if item.__class__ is not ScalarNode)


def _cycle(node: Node) -> YamlProblem:
    line, column = int(node.start_mark.line) + 1, int(node.start_mark.column) + 1
    kind = "list" if isinstance(node, SequenceNode) else "mapping"
    return YamlProblem(line, column, f"the {kind} that starts at line {line} column {column} holds an alias of itself")


def _first_at_depth(root: Node, sizes: dict[int, _Size] | None = None) -> int:
    """The line of the first collection, in document order, nested MAX_DEPTH + 1 deep, in a document known to
    nest that deep: a walk of a tree, or with aliases a descent guided by each node's depth (`sizes`), which
    never walks the same alias twice."""
    if sizes is None:
        stack: list[tuple[Node, int]] = [(root, 1)]
        while stack:
            node, level = stack.pop()
            if level > MAX_DEPTH:
                return int(node.start_mark.line) + 1
            stack.extend((c, level + 1) for c in reversed(_children(node)) if isinstance(c, CollectionNode))
        return int(root.start_mark.line) + 1
    node, level = root, 1
    while level <= MAX_DEPTH:
        needed = MAX_DEPTH + 1 - level
        node = next(c for c in _children(node) if isinstance(c, CollectionNode) and sizes[id(c)].depth >= needed)
        level += 1
    return int(node.start_mark.line) + 1


def _smallest_over(root: Node, sizes: dict[int, _Size], limit: int) -> Node:
    """The innermost collection that alone expands past `limit`: where the aliases pile up."""
    node = root
    while True:
        bigger = [c for c in _children(node) if sizes[id(c)].expanded > limit]
        if not bigger:
            return node
        node = bigger[0]


# --- plain words ------------------------------------------------------------------------------------------


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of a character index."""
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def _where(mark: Any) -> tuple[int, int]:
    return int(mark.line) + 1, int(mark.column) + 1


def explain(text: str, error: yaml.MarkedYAMLError) -> YamlProblem:
    """A parser's error as one plain sentence about its cause, at the cause's line and column.

    PyYAML and libyaml word their errors differently but put their marks at the same places; the sentence is
    made from the marks and the text, so both loaders say the same.
    """
    if error.problem_mark is None:
        return YamlProblem(1, 0, f"the YAML cannot be read: {error.problem or error.context}")
    failure = _Failure(text, error, error.problem_mark)
    for rule in (
        _unclosed_quote,
        _quote_run_on,
        _bad_escape,
        _unclosed_bracket,
        _colon_in_value,
        _misplaced_line,
        _document_start,
        _missing_colon,
    ):
        found = rule(failure)
        if found is not None:
            return found
    line, column = failure.line, failure.column
    problem = failure.problem
    if "stream end" in problem or "node content" in problem:
        unclosed = _open_flow_collection(text)
        if unclosed is not None:
            return unclosed
    if "tab" in problem or failure.here[column - 1 : column] == "\t":
        return YamlProblem(line, column, f"a tab at line {line} column {column}: YAML indents with spaces only")
    if "cannot start any token" in problem:
        char = failure.here[column - 1 : column] or "?"
        return YamlProblem(
            line, column, f"a value cannot start with {char!r} (line {line} column {column}); put the value in quotes"
        )
    if "undefined alias" in problem:
        name = _word_at(failure.here, column)
        return YamlProblem(
            line, column, f"the alias {name} at line {line} column {column} names no anchor (&name) above it"
        )
    if "another document" in problem:
        return YamlProblem(line, column, f"a second document starts at line {line}; the file must hold only one")
    said = "; ".join(part for part in (problem, failure.context) if part)
    return YamlProblem(line, column, f"YAML syntax error at line {line} column {column}: {said}")


class _Failure:
    """A parser error with the text it is about: the problem's and the context's marks, the problem's line."""

    def __init__(self, text: str, error: yaml.MarkedYAMLError, mark: yaml.Mark) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.problem = str(error.problem or "")
        self.context = str(error.context or "")
        self.mark = mark
        self.context_mark = error.context_mark
        self.line, self.column = _where(self.mark)
        self.here = self.lines[self.line - 1] if self.line <= len(self.lines) else ""


def _open_flow_collection(text: str) -> YamlProblem | None:
    """The innermost '[' or '{' still open where the parser failed (found again from the events up to there)."""
    opened: list[yaml.CollectionStartEvent] = []
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                opened.append(event)
            elif isinstance(event, yaml.CollectionEndEvent):
                opened.pop()
    except yaml.YAMLError:
        pass
    flows = [event for event in opened if event.flow_style]
    if not flows:
        return None
    line, column = _where(flows[-1].start_mark)
    bracket = "[" if isinstance(flows[-1], yaml.SequenceStartEvent) else "{"
    return YamlProblem(line, column, f"the '{bracket}' at line {line} column {column} is never closed")


def _word_at(line_text: str, column: int) -> str:
    end = column - 1
    while end < len(line_text) and not line_text[end].isspace() and line_text[end] not in ",]}":
        end += 1
    shown = line_text[column - 1 : end] or "?"
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _unclosed_quote(f: _Failure) -> YamlProblem | None:
    if "quoted scalar" not in f.context or f.context_mark is None or "end of stream" not in f.problem:
        return None
    line, column = _where(f.context_mark)
    index = f.context_mark.index
    quote = "double" if f.text[index : index + 1] == '"' else "single"
    return YamlProblem(line, column, f"the {quote} quote opened on line {line} column {column} is never closed")


def _quote_run_on(f: _Failure) -> YamlProblem | None:
    """A quote left open on its line that the next quote, lines below, closes: the parser fails just after
    that quote, but the cause is where the quoted value began (`title: "Sanctions` on line 2)."""
    last: yaml.ScalarEvent | None = None
    try:
        for event in yaml.parse(f.text, Loader=yaml.SafeLoader):
            if event.start_mark is None or event.start_mark.index >= f.mark.index:
                break
            if isinstance(event, yaml.ScalarEvent):
                last = event
    except yaml.YAMLError:
        pass
    if last is None or last.style not in ('"', "'") or last.start_mark is None or last.end_mark is None:
        return None
    (line, column), (closing_line, closing_column) = _where(last.start_mark), _where(last.end_mark)
    if closing_line == line or closing_line != f.line:
        return None
    quote = "double" if last.style == '"' else "single"
    return YamlProblem(
        line,
        column,
        f"the {quote} quote opened on line {line} column {column} is not closed on its line: the value runs on "
        f"to the next {last.style} at line {closing_line} column {closing_column - 1}; close it on line {line}",
    )


def _bad_escape(f: _Failure) -> YamlProblem | None:
    if "escape" not in f.problem:
        return None
    index = f.mark.index if f.text[f.mark.index : f.mark.index + 1] == "\\" else f.mark.index - 1
    line, column = _position(f.text, index)
    escape = f.text[index : index + 2]
    return YamlProblem(
        line,
        column,
        f"{escape!r} at line {line} column {column} is no escape a double-quoted value knows; write \\\\ for a "
        "backslash, or quote the value with ' instead",
    )


_BRACKETS = {"flow sequence": ("[", "]"), "flow mapping": ("{", "}")}


def _unclosed_bracket(f: _Failure) -> YamlProblem | None:
    kind = next((k for k in _BRACKETS if k in f.context), None)
    if kind is None or f.context_mark is None or "expected ','" not in f.problem:
        return None
    opening, closing = _BRACKETS[kind]
    line, column = _where(f.context_mark)
    unclosed = f"the '{opening}' at line {line} column {column} is never closed"
    if f.mark.index >= len(f.text.rstrip()):
        return YamlProblem(line, column, unclosed)
    return YamlProblem(line, column, f"{unclosed} (line {f.line} column {f.column} should hold ',' or '{closing}')")


def _indent(line_text: str) -> int:
    return len(line_text) - len(line_text.lstrip(" "))


def _key_of(line_text: str) -> str:
    """The key a line starts with (`  title: T` -> `title`), or its first word."""
    stripped = line_text.strip().removeprefix("- ")
    key = stripped.split(":", 1)[0].strip() if ":" in stripped else stripped.split(" ", 1)[0]
    return key if len(key) <= 40 else key[:37] + "..."


def _line_above(lines: list[str], line: int) -> tuple[int, str] | None:
    """The nearest line above `line` (1-based) that holds more than spaces or a comment."""
    for number in range(line - 1, 0, -1):
        content = lines[number - 1].strip()
        if content and not content.startswith("#"):
            return number, lines[number - 1]
    return None


def _spaces(count: int) -> str:
    return "1 space" if count == 1 else f"{count} spaces"


def _colon_in_value(f: _Failure) -> YamlProblem | None:
    """`title: a: b` (a ': ' inside a plain value), or a key indented under a line with a plain value, which
    makes the key part of that value."""
    if "mapping values are not allowed" not in f.problem:
        return None
    before = f.here[: f.column - 1]
    first_colon = before.find(": ")
    if first_colon >= 0 and before[:first_colon].strip():
        return YamlProblem(
            f.line,
            f.column,
            f"the value of {_key_of(f.here)!r} on line {f.line} holds ': ' at column {f.column}; "
            "put the value in quotes",
        )
    odd = _short_of_its_item(f.lines, f.line) or _odd_line(f.lines, f.line)
    if odd is not None:
        return odd
    above = _line_above(f.lines, f.line)
    indent = _indent(f.here)
    if above is None:
        return YamlProblem(f.line, indent + 1, f"line {f.line} is indented where nothing contains it")
    return YamlProblem(
        f.line,
        indent + 1,
        f"{_key_of(f.here)!r} on line {f.line} is indented {_spaces(indent)}, deeper than {_key_of(above[1])!r} "
        f"on line {above[0]} ({_spaces(_content_column(above[1]))}), whose value it becomes part of; indent it "
        "like the keys it belongs with",
    )


def _misplaced_line(f: _Failure) -> YamlProblem | None:
    """A line indented to no level of the blocks around it, or text after a complete value."""
    if "block" not in f.context or f.context_mark is None:
        return None
    if not ("expected <block end>" in f.problem or "did not find expected" in f.problem):
        return None
    line, column = f.line, f.column
    found = f.here[column - 1 : column]
    if found in ("]", "}"):
        return YamlProblem(line, column, f"the '{found}' at line {line} column {column} closes nothing")
    if column != _indent(f.here) + 1:
        return YamlProblem(
            line,
            column,
            f"unexpected text at line {line} column {column}, after a complete value; put the whole value in quotes",
        )
    odd = _short_of_its_item(f.lines, line) or _odd_line(f.lines, line)
    if odd is not None:
        return odd
    above = _line_above(f.lines, line)
    block_line, block_column = _where(f.context_mark)
    block = "mapping" if "mapping" in f.context else "list"
    if block == "mapping" and found == "-":
        return YamlProblem(
            line,
            column,
            f"the list item on line {line} stands where the mapping that starts on line {block_line} expects a "
            "key; line it up with the other items of its list",
        )
    nearest = f"line {above[0]} ({_spaces(_indent(above[1]))}) or " if above else ""
    return YamlProblem(
        line,
        column,
        f"{_what(f.here)} on line {line} is indented {_spaces(column - 1)}, which lines up with nothing above it: "
        f"indent it like {nearest}the {block} that starts on line {block_line} ({_spaces(block_column - 1)})",
    )


def _what(line_text: str) -> str:
    """How a sentence names a line: `the list item`, or its key."""
    return "the list item" if line_text.lstrip().startswith("-") else repr(_key_of(line_text))


def _content_column(line_text: str) -> int:
    """Where a line's content starts, after its indentation and any `- ` of list items."""
    i = _indent(line_text)
    while line_text.startswith("-", i) and line_text[i + 1 : i + 2] in (" ", ""):
        i += 1
        while line_text.startswith(" ", i):
            i += 1
    return i


def _opens_block(lines: list[str], number: int) -> bool:
    """Whether line `number` is the first of a nested block: the line above ends in `key:` or a block scalar's
    `>` or `|`."""
    above = _line_above(lines, number)
    if above is None:
        return False
    content = above[1].split(" #", 1)[0].rstrip()
    return content.endswith(":") or content.rstrip("+-0123456789").endswith((": >", ": |", "- >", "- |"))


def _line_below(lines: list[str], line: int) -> tuple[int, str] | None:
    """The nearest line below `line` (1-based) that holds more than spaces or a comment."""
    for number in range(line + 1, len(lines) + 1):
        content = lines[number - 1].strip()
        if content and not content.startswith("#"):
            return number, lines[number - 1]
    return None


def _short_of_its_item(lines: list[str], line: int) -> YamlProblem | None:
    """A key indented past the `-` of the list item above it but short of that item's first key (`  - url: ...`
    then `   every: 10m`): it belongs with that key, and neither the list nor the line above is off."""
    text = lines[line - 1]
    above = _line_above(lines, line)
    if above is None or text.lstrip().startswith("-") or not above[1].lstrip().startswith("- "):
        return None
    indent, keys_at = _indent(text), _content_column(above[1])
    if not _indent(above[1]) < indent < keys_at:
        return None
    key = _key_of(above[1])
    return YamlProblem(
        line,
        indent + 1,
        f"{_what(text)} on line {line} is indented {_spaces(indent)}, short of {key!r} on line {above[0]} "
        f"({_spaces(keys_at)}), the first key of its list item: indent it like {key!r}",
    )


def _odd_line(lines: list[str], line: int) -> YamlProblem | None:
    """The line above a parser's complaint at `line`, when it is the one indented unlike its neighbours.

    The parser stops where the indentation stops making sense, which is often one line after the culprit: a
    block's first line sets the block's indentation, and a key moved left ends its block early, so the next
    line of the block is the one that looks wrong. Both lines are named.
    """
    here = (line, lines[line - 1])
    column = _content_column(here[1])
    above = _line_above(lines, line)
    if above is None or _content_column(above[1]) == column:
        return None
    if _opens_block(lines, above[0]):
        below = _line_below(lines, line)
        if below is not None and not _opens_block(lines, below[0]) and _content_column(below[1]) == column:
            return _first_line_off(above, here)  # the lines after agree with this one: the first is off
        if column < _content_column(above[1]) and (below is None or _content_column(below[1]) < column):
            return _first_line_off(above, here)  # a block of two lines: the first sets it, so name it first
        return None
    second = _line_above(lines, above[0])
    if second is not None and _content_column(second[1]) == column:
        return _off_between(above, second, here)
    return None


def _off_between(odd: tuple[int, str], before: tuple[int, str], after: tuple[int, str]) -> YamlProblem:
    line, text = odd
    return YamlProblem(
        line,
        _indent(text) + 1,
        f"{_what(text)} on line {line} is indented {_spaces(_indent(text))}, unlike lines {before[0]} and "
        f"{after[0]} around it ({_spaces(_indent(before[1]))}): the lines of one block start in the same column",
    )


def _first_line_off(first: tuple[int, str], second: tuple[int, str]) -> YamlProblem:
    """The first line of a block and the line below it start in different columns: the first sets the block's
    indentation, so it is the likely culprit, and both are named."""
    (line, text), (below, below_text) = first, second
    return YamlProblem(
        line,
        _indent(text) + 1,
        f"{_what(text)} on line {line} is indented {_spaces(_indent(text))} but {_what(below_text)} on line {below} "
        f"below it {_spaces(_indent(below_text))}: the lines of one block start in the same column",
    )


def _document_start(f: _Failure) -> YamlProblem | None:
    """The file's first line indented, the next ones not."""
    if "document start" not in f.problem:
        return None
    first = next(((n, t) for n, t in enumerate(f.lines, 1) if t.strip() and not t.lstrip().startswith("#")), None)
    if first is None or _indent(first[1]) == 0 or first[0] >= f.line:
        return None
    return _first_line_off(first, (f.line, f.here))


def _missing_colon(f: _Failure) -> YamlProblem | None:
    if "simple key" not in f.context or f.context_mark is None or "':'" not in f.problem:
        return None
    line, column = _where(f.context_mark)
    return YamlProblem(
        line, column, f"line {line} is neither 'key: value' nor a list item: the key lacks a ':' and a space after it"
    )
