"""Reading hand-written YAML with line numbers, so every complaint can name the line at fault.

PyYAML's composed nodes keep their marks; plain `safe_load` would throw them away. bot/yamlread.py composes
them (once, with libyaml where present) under the nesting and alias limits.
"""

from __future__ import annotations

from collections.abc import Iterable

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.match.errors import FileProblem, shown
from bot.yamlread import YamlProblem, compose


def line_of(node: Node) -> int:
    return int(node.start_mark.line) + 1


def compose_mapping(text: str, what: str) -> MappingNode:
    """The file's top-level mapping; a YAML mistake becomes a FileProblem at the line of its cause."""
    try:
        node = compose(text)
    except YamlProblem as e:
        raise FileProblem(e.line, e.message) from None
    if not isinstance(node, MappingNode):
        raise FileProblem(line_of(node) if node is not None else 1, f"{what} must be a mapping of keys")
    return node


def keys(
    node: MappingNode, allowed: Iterable[str], required: Iterable[str], what: str
) -> dict[str, tuple[ScalarNode, Node]]:
    """The mapping's keys with their key and value nodes, after checking unknown/missing/doubled keys."""
    allowed = tuple(allowed)
    found: dict[str, tuple[ScalarNode, Node]] = {}
    for key, value in node.value:
        if not isinstance(key, ScalarNode):
            raise FileProblem(line_of(key), f"{what}: keys must be plain words")
        name = str(key.value)
        if name not in allowed:
            raise FileProblem(line_of(key), f"unknown key {shown(name)} in {what} (known: {', '.join(allowed)})")
        if name in found:
            raise FileProblem(line_of(key), f"key {shown(name)} appears twice in {what}")
        found[name] = (key, value)
    for name in required:
        if name not in found:
            raise FileProblem(line_of(node), f"{what} lacks the required key {name!r}")
    return found


def text_value(node: Node, what: str) -> str:
    """A non-empty string scalar."""
    if not isinstance(node, ScalarNode):
        raise FileProblem(line_of(node), f"{what} must be text")
    value = str(node.value).strip()
    if not value:
        raise FileProblem(line_of(node), f"{what} must not be empty")
    return value


def number_value(node: Node, what: str) -> float:
    if isinstance(node, ScalarNode):
        try:
            return float(node.value)
        except ValueError:
            pass
    raise FileProblem(line_of(node), f"{what} must be a number")


def sequence(node: Node, what: str) -> list[Node]:
    """A list; a single scalar counts as a one-item list, as people write `aliases: Tallinn`."""
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, ScalarNode) and node.value != "":
        return [node]
    raise FileProblem(line_of(node), f"{what} must be a list")


def mapping(node: Node, what: str) -> MappingNode:
    if not isinstance(node, MappingNode):
        raise FileProblem(line_of(node), f"{what} must be a mapping of keys")
    return node


def position_in_file(text: str, node: ScalarNode, offset: int) -> tuple[int, int]:
    """1-based (line, column) in the file of character `offset` of a scalar's (possibly folded) value.

    Folding only changes whitespace, so the n-th non-space character of the value is the n-th
    non-space character of the scalar as written, after a block scalar's `>`/`|` header line or a
    quoted scalar's opening quote.
    """
    value = str(node.value)
    wanted = sum(1 for c in value[:offset] if not c.isspace())
    start = int(node.start_mark.index)
    end = int(node.end_mark.index)
    if node.style in (">", "|"):
        newline = text.find("\n", start, end)
        start = end if newline < 0 else newline + 1
    elif node.style in ("'", '"'):
        start += 1
    seen = 0
    position = start
    while position < end:
        if not text[position].isspace():
            if seen == wanted:
                break
            seen += 1
        position += 1
    line_start = text.rfind("\n", 0, position) + 1
    return text.count("\n", 0, position) + 1, position - line_start + 1
