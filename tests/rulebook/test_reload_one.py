"""Reloading after an edit among many files: only the edited files are read and only their rules compiled, and
the outcome is exactly what reading the whole folder afresh gives (rules, problems, warnings, matches); what a
file gave is kept by the hash of its bytes, so a file rewritten unchanged keeps its rule and an entity edit
reaches the rules that use it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.match.matcher import Matcher
from bot.match.rules import Rule, RuleSet
from bot.model import Entry
from bot.rulebook.load import RuleFiles, load_ruleset
from bot.rulebook.watch import Reload, compile_reload
from bot.starter import RULES

TOPICS = 300
TEXTS = [
    "Estonia will send troops to the border.",
    "Word 17 and word 18 near the troops of topic 17, in Tallinn.",
    "Reval harbour reopened; topic 200 soldiers were seen.",
    "Kallas refused to rule out sending Estonian troops to Ukraine.",
    "Nothing to see here about topic 5.",
]
ENTRIES = [Entry(feed_url="", outlet="", url=f"e{n}", title="", summary=text) for n, text in enumerate(TEXTS)]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(RULES, target)
    for n in range(TOPICS):
        query = f'"topic {n}" NEAR/5 (troops OR soldiers)' if n % 3 else f"@estonia AND topic NEAR/1 {n}"
        (target / f"topic-{n:03}.yaml").write_text(f"id: topic-{n}\ntitle: Topic {n}\nquery: '{query}'\n")
    return target


def picture(ruleset: RuleSet, matcher: Matcher) -> object:
    """Everything a reload's outcome says, to compare with a fresh read of the folder."""
    return (
        [(r.path, r.id, r.line, r.query_text, r.examples) for r in ruleset.rules],
        [str(e) for e in ruleset.errors],
        [str(w) for w in ruleset.warnings],
        [matcher.match(entry) for entry in ENTRIES],
    )


def afresh(folder: Path, previous: RuleSet) -> object:
    ruleset = load_ruleset(folder, previous, check_examples=True)
    return picture(ruleset, Matcher(ruleset))


def by_path(ruleset: RuleSet) -> dict[str, Rule]:
    return {rule.path: rule for rule in ruleset.rules}


class Book:
    """A folder's files and the matcher in force, reloaded the way the daemon's watcher does."""

    def __init__(self, folder: Path) -> None:
        self.files = RuleFiles(folder)
        self.matcher = Matcher(self.files.load())
        assert self.matcher.ruleset.errors == () and len(self.matcher.ruleset.rules) > TOPICS

    def reload(self, *changed: Path | None) -> Reload:
        before = self.matcher.ruleset
        told = None if changed == (None,) else tuple(str(path) for path in changed)
        reload = compile_reload(self.files, self.matcher, told)
        assert picture(reload.ruleset, reload.matcher) == afresh(self.files.folder, before)
        self.matcher = reload.matcher
        return reload


def unchanged_rules_kept(before: RuleSet, after: RuleSet, *edited: Path) -> bool:
    """Whether every rule of a file not edited is the very object it was (neither read nor compiled again)."""
    old, new = by_path(before), by_path(after)
    skipped = {str(path) for path in edited}
    return all(new[path] is rule for path, rule in old.items() if path not in skipped and path in new)


def test_an_edit_add_delete_and_rename_among_many_files(folder: Path) -> None:
    book = Book(folder)
    first = book.matcher.ruleset
    edited = folder / "topic-017.yaml"
    edited.write_text("id: topic-17\ntitle: Topic 17\nquery: word NEAR/2 (17 OR 18)\n")
    reload = book.reload(edited)
    assert unchanged_rules_kept(first, reload.ruleset, edited)
    assert "topic-17" in {m.rule_id for m in reload.matcher.match(ENTRIES[1])}

    added = folder / "topic-new.yaml"
    added.write_text("id: topic-new\ntitle: New\nquery: harbour\n")
    reload = book.reload(added)
    assert "topic-new" in {m.rule_id for m in reload.matcher.match(ENTRIES[2])}

    (folder / "topic-200.yaml").unlink()
    reload = book.reload(folder / "topic-200.yaml")
    assert reload.ruleset.get("topic-200") is None
    assert "topic-200" not in {m.rule_id for m in reload.matcher.match(ENTRIES[2])}

    (folder / "topic-005.yaml").rename(folder / "renamed.yaml")
    reload = book.reload(folder / "topic-005.yaml", folder / "renamed.yaml")
    assert by_path(reload.ruleset)[str(folder / "renamed.yaml")].id == "topic-5"
    assert len(reload.ruleset.rules) == len(first.rules)  # one added, one deleted


def test_broken_edits_duplicates_and_failing_examples_among_many_files(folder: Path) -> None:
    book = Book(folder)
    broken = folder / "topic-001.yaml"
    good = broken.read_text()
    broken.write_text(good.replace("NEAR/5 (", "NEAR/5 (("))
    reload = book.reload(broken)
    assert [str(e) for e in reload.new_errors] == [
        f"{broken}:3: query: this '(' is never closed: a ')' is missing (column 26); the previous version keeps running"
    ]
    assert reload.ruleset.get("topic-1") is not None

    twin = folder / "zz-twin.yaml"
    twin.write_text("id: topic-2\ntitle: Twin\nquery: twin\n")
    reload = book.reload(twin)
    assert [e.path for e in reload.new_errors] == [str(twin)]

    troops = folder / "troop-deployment.yaml"
    troops.write_text(troops.read_text().replace("NEAR/12", "NEAR/1"))
    reload = book.reload(troops)
    assert "example should match but does not" in reload.new_errors[0].message

    broken.write_text(good)
    reload = book.reload(broken)
    assert str(broken) not in {e.path for e in reload.errors}


def test_what_a_file_gave_is_kept_by_the_hash_of_its_bytes(folder: Path) -> None:
    book = Book(folder)
    first = book.matcher.ruleset
    path = folder / "topic-010.yaml"
    path.write_bytes(path.read_bytes())  # rewritten, the same bytes
    reload = book.reload(path)
    assert unchanged_rules_kept(first, reload.ruleset)

    path.write_text(path.read_text().replace("Topic 10", "Topic ten"))  # edited behind the watcher's back
    reload = book.reload(None)  # a full reload (/reload) reads every file and parses the one that differs
    assert reload.ruleset.get("topic-10").title == "Topic ten"  # type: ignore[union-attr]
    assert unchanged_rules_kept(first, reload.ruleset, path)


def test_an_entity_edit_reaches_the_rules_that_use_it(folder: Path) -> None:
    book = Book(folder)
    reval = Entry(feed_url="", outlet="", url="", title="", summary="Reval: topic 3 news.")
    assert "topic-3" not in {m.rule_id for m in book.matcher.match(reval)}
    estonia = folder / "entities" / "estonia.yaml"
    estonia.write_text(estonia.read_text() + "  - Reval\n")
    reload = book.reload(estonia)
    assert "topic-3" in {m.rule_id for m in reload.matcher.match(reval)}
