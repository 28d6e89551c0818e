"""Where a key path (`feeds.2.every`) sits in a YAML text, so a complaint about a value can name its line.

The loaders compose YAML into PyYAML's nodes once (bot/yamlread.py), validate the plain values made from
them, and look the lines of what is wrong up in the same nodes, which keep their marks.
"""

from __future__ import annotations

from collections.abc import Sequence

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode


class KeyLines:
    """The lines of the key paths of one composed YAML document."""

    def __init__(self, root: Node | None) -> None:
        self.root = root

    def line(self, path: Sequence[str | int]) -> int | None:
        """1-based line of the deepest part of `path` the text has: a mapping key's line, a list item's line.
        A key the text lacks (a required one) gives its parent's line; None when the text has no document."""
        node = self.root
        if node is None:
            return None
        line = int(node.start_mark.line) + 1
        for part in path:
            child = _child(node, part)
            if child is None:
                break
            marked, node = child
            line = int(marked.start_mark.line) + 1
        return line


def _child(node: Node, part: str | int) -> tuple[Node, Node] | None:
    """The node that marks `part` of `node` (a key, or a list item) and its value."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value == str(part):
                return key, value
    elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        item = node.value[part]
        return item, item
    return None
