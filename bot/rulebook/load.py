"""Loading a rules folder: `*.yaml` rule files, one rule each, and entities in `entities/*.yaml`.

Every problem becomes a RuleError (`file:line: message`) and only that file is skipped. Given
the previously loaded RuleSet, a file that broke keeps its last good version running, which is
what a hot reload needs: a typo in one rule must not silence it, nor any other.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.match.entities import Entity, Gazetteer, parse_entity
from bot.match.errors import FileProblem, RuleError
from bot.match.examples import check_rule
from bot.match.gc_pause import collector_paused
from bot.match.query import EntityRef, walk
from bot.match.rules import Rule, RuleSet, parse_rule

KEPT = "; the previous version keeps running"


def load_ruleset(directory: str | Path, previous: RuleSet | None = None, *, check_examples: bool = False) -> RuleSet:
    """Read every rule and entity file of `directory`.

    With `check_examples`, a rule whose examples fail counts as broken too (hot reload uses this,
    so a bad edit never replaces a working rule).
    """
    folder = Path(directory)
    if not folder.is_dir():
        return RuleSet((), Gazetteer({}), (RuleError(str(folder), 0, "no such rules folder"),))
    with collector_paused():
        return _load(folder, previous, check_examples)


def _load(folder: Path, previous: RuleSet | None, check_examples: bool) -> RuleSet:
    errors: list[RuleError] = []
    gazetteer = _load_entities(folder, previous, errors)
    entity_errors = list(errors)
    loaded: list[Rule] = []
    broken: list[str] = []
    for listed in _yaml_files(folder):
        path = listed.path
        rule = _load_rule(listed, folder, gazetteer, errors)
        if rule is not None and check_examples:
            rule = _with_passing_examples(rule, gazetteer, errors)
        if rule is None:
            broken.append(str(path))
        else:
            loaded.append(rule)
    rules = _one_file_per_id(loaded, previous, errors)
    errors[len(entity_errors) :] = sorted(errors[len(entity_errors) :], key=lambda e: (e.path, e.line))
    if previous is not None:
        _keep_previous(previous, broken, gazetteer, rules, errors)
    ordered = sorted(rules.values(), key=lambda r: r.path)
    return RuleSet(tuple(ordered), gazetteer, tuple(errors))


@dataclass(frozen=True, slots=True)
class _Listed:
    """A file of the folder, and whether it or the folder is a link (whose target is checked before reading)."""

    path: Path
    link: bool


def _yaml_files(folder: Path) -> list[_Listed]:
    """The folder's `*.yaml` and `*.yml` files (not following links: see _read), by name."""
    if not folder.is_dir():
        return []
    linked = folder.is_symlink()
    with os.scandir(folder) as entries:
        found = {e.name: e.is_symlink() for e in entries if e.name.endswith((".yaml", ".yml")) and e.is_file()}
    return [_Listed(folder / name, linked or found[name]) for name in sorted(found)]


def outside(path: Path, root: Path) -> Path | None:
    """Where a link out of the rules folder leads (None when it stays inside): rule and entity files are read only
    from inside the folder, so a link to /etc/shadow never lands its first line in an error message."""
    target = path.resolve()
    return None if target.is_relative_to(root.resolve()) else target


def _read(listed: _Listed, root: Path) -> str:
    path = listed.path
    target = outside(path, root) if listed.link else None
    if target is not None:
        raise FileProblem(
            0, f"a link to {target}, outside the rules folder: rule and entity files are read only from inside it"
        )
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except UnicodeDecodeError as e:
        raise FileProblem(1, f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise FileProblem(1, f"cannot read the file: {e.strerror}") from None


def _load_entities(root: Path, previous: RuleSet | None, errors: list[RuleError]) -> Gazetteer:
    entities: dict[str, Entity] = {}
    for listed in _yaml_files(root / "entities"):
        path = listed.path
        try:
            entity = parse_entity(str(path), _read(listed, root))
        except FileProblem as e:
            old = [x for x in previous.gazetteer.entities.values() if x.path == str(path)] if previous else []
            errors.append(RuleError(str(path), e.line, e.message + (KEPT if old else "")))
            entities.update((x.id, x) for x in old if x.id not in entities)
            continue
        if entity.id in entities:
            other = entities[entity.id].path
            errors.append(RuleError(str(path), 1, f"duplicate entity id {entity.id!r} (also in {other})"))
            continue
        entities[entity.id] = entity
    return Gazetteer(entities)


def _load_rule(listed: _Listed, root: Path, gazetteer: Gazetteer, errors: list[RuleError]) -> Rule | None:
    try:
        return parse_rule(str(listed.path), _read(listed, root), gazetteer)
    except FileProblem as e:
        errors.append(RuleError(str(listed.path), e.line, e.message))
        return None


def _one_file_per_id(loaded: list[Rule], previous: RuleSet | None, errors: list[RuleError]) -> dict[str, Rule]:
    """One rule per id; when two files claim one, the file that had it keeps its topic and the newcomer is
    reported. "Had it": the file whose rule was in force before this load, else the older file (by
    modification time, then name), so a file dropped in later never takes a topic over."""
    owners = {rule.id: rule.path for rule in previous.rules} if previous is not None else {}
    claims: dict[str, list[Rule]] = {}
    for rule in loaded:
        claims.setdefault(rule.id, []).append(rule)
    rules: dict[str, Rule] = {}
    for rule_id, claimants in claims.items():
        if len(claimants) == 1:
            rules[rule_id] = claimants[0]
            continue
        keeper = min(claimants, key=lambda r: (r.path != owners.get(rule_id), _modified(r.path), r.path))
        rules[rule_id] = keeper
        for other in claimants:
            if other is not keeper:
                errors.append(
                    RuleError(
                        other.path,
                        other.line,
                        f"duplicate rule id {rule_id!r}: {keeper.path}:{keeper.line} has it, so this file is ignored",
                    )
                )
    return rules


def _modified(path: str) -> float:
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return float("inf")


def _with_passing_examples(rule: Rule, gazetteer: Gazetteer, errors: list[RuleError]) -> Rule | None:
    failures = [r.error() for r in check_rule(rule, RuleSet((rule,), gazetteer)) if not r.passed]
    errors.extend(failures)
    return None if failures else rule


def _keep_previous(
    previous: RuleSet, broken: Iterable[str], gazetteer: Gazetteer, rules: dict[str, Rule], errors: list[RuleError]
) -> None:
    """Put back the last good version of each broken file, if it still fits with the rest."""
    by_path = {r.path: r for r in previous.rules}
    for path in broken:
        old = by_path.get(path)
        if old is None or old.id in rules or not _entities_known(old, gazetteer):
            continue
        rules[old.id] = old
        for i, error in enumerate(errors):
            if error.path == path:
                errors[i] = RuleError(error.path, error.line, error.message + KEPT)


def _entities_known(rule: Rule, gazetteer: Gazetteer) -> bool:
    queries = [rule.query, *(t.query for t in rule.score.terms)] if rule.score else [rule.query]
    return all(n.entity_id in gazetteer for q in queries for n in walk(q) if isinstance(n, EntityRef))
