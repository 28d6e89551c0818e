"""Live editing: watch the rules folder and hand over freshly compiled rules after every change.

    async for reload in watch_rules(RuleFiles(Path("rules")), current_matcher, stop_event=stop):
        for error in reload.new_errors:
            log.error("%s", error)             # file:line: message
        book.install(reload)                   # one assignment: an atomic swap

Loading and compiling run in a worker thread, so the event loop keeps polling and sending
meanwhile. A reload checks examples too: a rule whose edit breaks (YAML, query, unknown entity,
failing example) keeps its previous version running, and the error names the file and line.
A reload reads only the files the watcher says changed, and compiles only the rules they hold.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from watchfiles import Change, awatch

from bot.match.errors import RuleError, RuleWarning
from bot.match.matcher import Matcher
from bot.match.rules import RuleSet
from bot.rulebook.load import RuleFiles


@dataclass(frozen=True, slots=True)
class Reload:
    """The outcome of one reload: the rules now in force, compiled, what went wrong, and the likely mistakes
    the edit brought (rules that load but may not mean what was meant)."""

    ruleset: RuleSet
    matcher: Matcher
    changed: tuple[str, ...]
    new_errors: tuple[RuleError, ...]
    new_warnings: tuple[RuleWarning, ...] = ()

    @property
    def errors(self) -> tuple[RuleError, ...]:
        """Every problem in the folder now, including ones reported at earlier reloads."""
        return self.ruleset.errors


def _is_rule_file(change: Change, path: str) -> bool:
    return path.endswith((".yaml", ".yml"))


def compile_reload(files: RuleFiles, previous: Matcher, changed: tuple[str, ...] | None) -> Reload:
    """Read the folder again (only the `changed` files, when known), keeping last good versions of files that
    broke, and compile the rules that changed."""
    before = previous.ruleset
    ruleset = files.load(before, check_examples=True, changed=changed)
    known = set(before.errors)
    warned = set(before.warnings)
    return Reload(
        ruleset,
        Matcher(ruleset, reusing=previous),
        changed or (),
        tuple(e for e in ruleset.errors if e not in known),
        tuple(w for w in ruleset.warnings if w not in warned),
    )


async def watch_rules(
    files: RuleFiles, current: Matcher, *, stop_event: asyncio.Event | None = None, debounce_ms: int = 400
) -> AsyncIterator[Reload]:
    """Yield a Reload after each batch of changes to rule or entity files, until `stop_event` is set."""
    async for changes in awatch(
        files.folder, watch_filter=_is_rule_file, stop_event=stop_event, debounce=debounce_ms, recursive=True
    ):
        changed = tuple(sorted({path for _, path in changes}))
        reload = await asyncio.to_thread(compile_reload, files, current, changed)
        current = reload.matcher
        yield reload
