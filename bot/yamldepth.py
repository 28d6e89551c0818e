"""A nesting limit for YAML we read (config, feeds list, rule and entity files).

PyYAML builds nested collections recursively, so 20,000 `[` in a file end in a RecursionError deep
inside the loader. Its event parser is iterative, so one pass over the events finds the line where
nesting passes the limit before anything recursive runs; no hand-written file needs a tenth of it.
"""

from __future__ import annotations

import yaml

MAX_DEPTH = 64


class TooDeep(Exception):
    """The document nests collections deeper than MAX_DEPTH; `line` is 1-based."""

    def __init__(self, line: int) -> None:
        super().__init__(f"lists and mappings nest more than {MAX_DEPTH} levels deep")
        self.line = line
        self.message = str(self)


def check_depth(text: str) -> None:
    """Raise TooDeep at the line where nesting passes MAX_DEPTH; YAML syntax errors are raised as usual."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise TooDeep(event.start_mark.line + 1 if event.start_mark else 1)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
