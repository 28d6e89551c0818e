"""The rules in force: a rule set, its compiled matcher and an entity finder, swapped as one so a poll
never sees half a reload."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from bot.counts import plural
from bot.match.entities import Gazetteer
from bot.match.matcher import Matcher
from bot.match.query import parse_query
from bot.match.rules import Rule, RuleSet
from bot.match.text import literal_prefix
from bot.model import Entry
from bot.rulebook.load import RuleFiles
from bot.rulebook.watch import Reload, compile_reload, watch_rules
from bot.stories.features import lead_text
from bot.stories.terms import name_key, names

log = logging.getLogger(__name__)


NAMES_READ = 80
"""Entities are also found by the names in the first words of the body (as the story index reads it)."""


@dataclass(frozen=True, slots=True)
class Rules:
    ruleset: RuleSet
    matcher: Matcher
    entities: Matcher
    spelled: tuple[tuple[frozenset[str], str], ...] = ()
    """Each unambiguous name of an entity as the name keys of its words, with the entity's id."""

    @classmethod
    def compile(cls, ruleset: RuleSet) -> Rules:
        return cls(ruleset, Matcher(ruleset), entity_finder(ruleset), entity_spellings(ruleset.gazetteer))

    def entity_ids(self, entry: Entry) -> frozenset[str]:
        """The gazetteer entities an entry names (ambiguous forms only alongside a full name): as written in
        an alias, or in another script or spelling of one ("Selenskyj" for an entity known as "Зеленский")."""
        found = {match.rule_id for match in self.entities.match(entry)}
        if self.spelled:
            named = names(lead_text(entry, NAMES_READ) or entry.title)
            found.update(entity_id for keys, entity_id in self.spelled if keys <= named)
        return frozenset(found)


def entity_spellings(gazetteer: Gazetteer) -> tuple[tuple[frozenset[str], str], ...]:
    """The name keys (stories/text.name_key) of every unambiguous name and alias of every entity."""
    spelled = set()
    for entity in gazetteer.entities.values():
        for form in entity.forms:
            keys = frozenset(name_key(literal_prefix(word)) for word in form)
            if keys and all(len(key) > 2 for key in keys):
                spelled.add((keys, entity.id))
    return tuple(sorted(spelled, key=lambda item: (item[1], sorted(item[0]))))


def entity_finder(ruleset: RuleSet) -> Matcher:
    """A matcher with one `@id` rule per entity, so stories can compare who and where articles are about."""
    rules = tuple(
        Rule(id=entity_id, title=entity_id, query_text=f"@{entity_id}", query=parse_query(f"@{entity_id}"))
        for entity_id in ruleset.gazetteer.entities
    )
    return Matcher(RuleSet(rules, ruleset.gazetteer))


class RuleBook:
    """Holds the current `Rules`; readers take `book.current` once per poll and use that snapshot.

    Changing rules is one assignment of a fully compiled `Rules`, so a poll sees the old set or the
    new one, never a mix; compiling happens in a worker thread so polls and sends go on meanwhile.
    """

    def __init__(self, files: RuleFiles, ruleset: RuleSet) -> None:
        self.files = files
        self.current = Rules.compile(ruleset)
        gc.freeze()

    @property
    def directory(self) -> Path:
        return self.files.folder

    @classmethod
    def load(cls, directory: Path) -> RuleBook:
        """The rules at start-up: examples are not required to pass here, so a rule is never silenced at boot."""
        files = RuleFiles(directory)
        ruleset = files.load()
        for error in ruleset.errors:
            log.error("%s", error)
        for warning in ruleset.warnings:
            log.warning("%s", warning)
        log.info("loaded %s from %s", plural(len(ruleset.rules), "rule"), directory)
        return cls(files, ruleset)

    def install(self, reload: Reload) -> None:
        """Put rules compiled by a reload in force, and report what the reload found wrong."""
        for error in reload.new_errors:
            log.error("%s", error)
        for warning in reload.new_warnings:
            log.warning("%s", warning)
        before = self.current
        if reload.ruleset.gazetteer is before.ruleset.gazetteer:
            self.current = Rules(reload.ruleset, reload.matcher, before.entities, before.spelled)
        else:
            gazetteer = reload.ruleset.gazetteer
            self.current = Rules(
                reload.ruleset, reload.matcher, entity_finder(reload.ruleset), entity_spellings(gazetteer)
            )
        # The compiled rules live as long as the process: keep the collector from rescanning them.
        gc.freeze()
        in_force, broken = len(reload.ruleset.rules), plural(len(reload.errors), "file")
        log.info("rules reloaded: %d in force, %s with problems", in_force, broken)

    async def reload(self) -> Reload:
        """Read the folder again (for /reload); a file that broke keeps its previous version running."""
        reload = await asyncio.to_thread(compile_reload, self.files, self.current.matcher, None)
        self.install(reload)
        return reload

    async def follow(self, stop: asyncio.Event) -> AsyncIterator[Reload]:
        """Reload after every edit of the rules folder until `stop` is set, yielding each reload."""
        async for reload in watch_rules(self.files, self.current.matcher, stop_event=stop):
            self.install(reload)
            yield reload
