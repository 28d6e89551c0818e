"""Loading a rules folder: `*.yaml` rule files, one rule each, and entities in `entities/*.yaml`.

Every problem becomes a RuleError (`file:line: message`) and only that file is skipped. Given
the previously loaded RuleSet, a file that broke keeps its last good version running, which is
what a hot reload needs: a typo in one rule must not silence it, nor any other.

RuleFiles remembers what each file gave, by the hash of its bytes, so the daemon's next reload parses only
files whose bytes changed, and reads only the files the watcher names: an edit of one file among 10,000
costs that one file.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
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
    return RuleFiles(directory).load(previous, check_examples=check_examples)


@dataclass(frozen=True, slots=True)
class _Read:
    """What one rule file gave: its rule or the problem that kept it out, from bytes with this digest; the
    failures of its examples once they were run (None before)."""

    digest: bytes
    rule: Rule | None
    problem: RuleError | None
    failures: tuple[RuleError, ...] | None = None


class RuleFiles:
    """One rules folder as last read. `load` reads it again: every file, or with `changed` (the paths a watcher
    saw change) only those; a file whose bytes hash as before keeps what it gave, unless the entities changed.
    """

    def __init__(self, directory: str | Path) -> None:
        self.folder = Path(directory)
        self._listing: dict[str, _Listed] | None = None
        self._reads: dict[str, _Read] = {}
        self._entity_digests: dict[str, bytes] = {}
        self._gazetteer = Gazetteer({})
        self._entity_errors: tuple[RuleError, ...] = ()
        self._lock = threading.Lock()  # /reload and the watcher may read at once, each in a worker thread

    def load(
        self, previous: RuleSet | None = None, *, check_examples: bool = False, changed: Collection[str] | None = None
    ) -> RuleSet:
        """The rule set the folder holds now (see load_ruleset); `changed` None means any file may have."""
        if not self.folder.is_dir():
            self._listing = None
            return RuleSet((), Gazetteer({}), (RuleError(str(self.folder), 0, "no such rules folder"),))
        with self._lock, collector_paused():
            edited = self._edited_rule_files(changed)
            if edited is None:
                self._read_entities(previous)
                self._listing = {str(listed.path): listed for listed in _yaml_files(self.folder)}
            listing = self._listing
            assert listing is not None
            reads = {path: self._read_rule(listed, edited, check_examples) for path, listed in listing.items()}
            self._reads = reads
            return self._ruleset(reads, previous, check_examples)

    def _edited_rule_files(self, changed: Collection[str] | None) -> set[str] | None:
        """The rule files among `changed` (the listing updated for those added or deleted), or None when the whole
        folder must be read: nothing read yet, nothing said, an entity file changed, or a path not placed."""
        if changed is None or self._listing is None:
            return None
        here = {os.path.abspath(self.folder), os.path.realpath(self.folder)}
        entities = {os.path.join(folder, "entities") for folder in here}
        edited: set[str] = set()
        added = False
        for name in changed:
            parent = os.path.dirname(os.path.abspath(name))
            if parent in entities:
                return None
            if parent not in here:
                if not any(parent.startswith(folder + os.sep) for folder in here):
                    return None
                continue  # a file in another subfolder: not a rule file
            path = self.folder / os.path.basename(name)
            key = str(path)
            if not key.endswith((".yaml", ".yml")):
                continue
            edited.add(key)
            if not os.path.isfile(path):
                self._listing.pop(key, None)
            else:
                added |= key not in self._listing
                self._listing[key] = _Listed(path, self.folder.is_symlink() or path.is_symlink())
        if added:
            self._listing = dict(sorted(self._listing.items()))
        return edited

    def _read_entities(self, previous: RuleSet | None) -> None:
        """The gazetteer, read again when an entity file's bytes changed; rules read under another one are
        read again too (their entities and examples may mean something else now)."""
        contents = _entity_contents(_yaml_files(self.folder / "entities"), self.folder)
        digests = {path: _digest(data) for path, data in contents.items()}
        if digests == self._entity_digests and (previous is None or previous.gazetteer is self._gazetteer):
            return
        errors: list[RuleError] = []
        gazetteer = _load_entities(contents, previous, errors)
        self._entity_digests = digests
        self._entity_errors = tuple(errors)
        if gazetteer != self._gazetteer:
            self._gazetteer = gazetteer
            self._reads = {}

    def _read_rule(self, listed: _Listed, edited: set[str] | None, check_examples: bool) -> _Read:
        path = str(listed.path)
        known = self._reads.get(path)
        if known is None or edited is None or path in edited:
            try:
                data = _bytes(listed, self.folder)
            except FileProblem as e:
                return _Read(b"", None, RuleError(path, e.line, e.message))
            digest = _digest(data)
            if known is None or known.digest != digest:
                known = _parse_rule(path, data, digest, self._gazetteer)
        if check_examples and known.rule is not None and known.failures is None:
            results = check_rule(known.rule, RuleSet((known.rule,), self._gazetteer))
            known = replace(known, failures=tuple(result.error() for result in results if not result.passed))
        return known

    def _ruleset(self, reads: dict[str, _Read], previous: RuleSet | None, check_examples: bool) -> RuleSet:
        """The rules of the files' reads, one per id, with the last good version of files that broke."""
        errors = list(self._entity_errors)
        loaded: list[Rule] = []
        broken: list[str] = []
        for path, read in reads.items():
            if read.problem is not None:
                errors.append(read.problem)
            elif check_examples and read.failures:
                errors.extend(read.failures)
            elif read.rule is not None:
                loaded.append(read.rule)
                continue
            broken.append(path)
        rules = _one_file_per_id(loaded, previous, errors)
        first = len(self._entity_errors)
        errors[first:] = sorted(errors[first:], key=lambda e: (e.path, e.line))
        if previous is not None:
            _keep_previous(previous, broken, self._gazetteer, rules, errors)
        ordered = sorted(rules.values(), key=lambda r: r.path)
        return RuleSet(tuple(ordered), self._gazetteer, tuple(errors))


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


def _bytes(listed: _Listed, root: Path) -> bytes:
    path = listed.path
    target = outside(path, root) if listed.link else None
    if target is not None:
        raise FileProblem(
            0, f"a link to {target}, outside the rules folder: rule and entity files are read only from inside it"
        )
    try:
        return path.read_bytes()
    except OSError as e:
        raise FileProblem(1, f"cannot read the file: {e.strerror}") from None


def _text(data: bytes) -> str:
    """UTF-8 with universal newlines, as a text-mode read gives it."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FileProblem(1, f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _digest(data: bytes | FileProblem) -> bytes:
    """What a file's bytes hash to (a file that cannot be read: what is wrong with it)."""
    if isinstance(data, FileProblem):
        return f"{data.line}: {data.message}".encode()
    return hashlib.blake2b(data, digest_size=16).digest()


def _parse_rule(path: str, data: bytes, digest: bytes, gazetteer: Gazetteer) -> _Read:
    try:
        rule = parse_rule(path, _text(data), gazetteer)
    except FileProblem as e:
        return _Read(digest, None, RuleError(path, e.line, e.message))
    return _Read(digest, rule, None, None if rule.examples else ())


def _entity_contents(listed: list[_Listed], root: Path) -> dict[str, bytes | FileProblem]:
    """Each entity file's bytes, or why they cannot be read."""
    contents: dict[str, bytes | FileProblem] = {}
    for item in listed:
        try:
            contents[str(item.path)] = _bytes(item, root)
        except FileProblem as e:
            contents[str(item.path)] = e
    return contents


def _load_entities(
    contents: dict[str, bytes | FileProblem], previous: RuleSet | None, errors: list[RuleError]
) -> Gazetteer:
    entities: dict[str, Entity] = {}
    for path, data in contents.items():
        try:
            if isinstance(data, FileProblem):
                raise data
            entity = parse_entity(path, _text(data))
        except FileProblem as e:
            old = [x for x in previous.gazetteer.entities.values() if x.path == path] if previous else []
            errors.append(RuleError(path, e.line, e.message + (KEPT if old else "")))
            entities.update((x.id, x) for x in old if x.id not in entities)
            continue
        if entity.id in entities:
            other = entities[entity.id].path
            errors.append(RuleError(path, 1, f"duplicate entity id {entity.id!r} (also in {other})"))
            continue
        entities[entity.id] = entity
    return Gazetteer(entities)


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
