"""Problems in rule and entity files, reported the way compilers do: `file:line: message`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RuleError:
    """One problem in one file; `line` is 1-based and points at the offending key or query line
    (0 when the problem is the path itself, e.g. a missing folder)."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        if self.line <= 0:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"


SHOWN = 40
"""Characters of a file's text an error may quote: enough to recognise a key or value, never a file's contents."""


def shown(text: str) -> str:
    """Text from a file as an error quotes it: in quotes, cut to SHOWN characters."""
    return repr(text if len(text) <= SHOWN else text[: SHOWN - 3] + "...")


class FileProblem(Exception):
    """Raised while reading one file; the loader turns it into a RuleError and skips the file."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True, slots=True)
class RuleWarning:
    """A likely mistake in a rule that still loads (`near/5` in lower case, `troops or soldiers`): reported as
    `file:line: warning: message`; the rule runs as written."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: warning: {self.message}"
