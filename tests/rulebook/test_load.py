"""Rule folders: the shipped rules and seeds, broken files reported as file:line, hot-reload fallbacks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.match.examples import run_examples
from bot.match.matcher import Matcher
from bot.model import Entry
from bot.rulebook.load import load_ruleset
from bot.starter import RULES

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "tests" / "fixtures" / "seeds"
BROKEN = Path(__file__).parent / "testdata" / "broken"


def seed_entries() -> list[Entry]:
    paths = sorted(SEEDS.glob("*.txt"))
    assert len(paths) == 2
    return [Entry(feed_url="file://seeds", outlet="Seeds", url=p.name, title="", summary=p.read_text()) for p in paths]


def test_shipped_rules_load_without_errors_and_their_examples_pass() -> None:
    ruleset = load_ruleset(RULES)
    assert ruleset.errors == ()
    assert len(ruleset.rules) >= 6
    results = run_examples(ruleset)
    assert [str(r.error()) for r in results if not r.passed] == []
    assert {r.rule.id for r in results} == {r.id for r in ruleset.rules}


def test_both_seeds_match_troop_deployment_kallas_and_estonia() -> None:
    matcher = Matcher(load_ruleset(RULES))
    for entry in seed_entries():
        matched = {m.rule_id for m in matcher.match(entry)}
        assert {"troop-deployment", "kaja-kallas", "estonia"} <= matched, entry.url


def test_seed_spans_point_at_the_words_in_the_original_text() -> None:
    matcher = Matcher(load_ruleset(RULES))
    entry = seed_entries()[1]
    troops = next(m for m in matcher.match(entry) if m.rule_id == "troop-deployment")
    (clause,) = troops.clauses
    assert clause.clause.startswith('(troops OR soldiers OR "ground forces"')
    assert all(entry.body[s.start : s.end] == s.text for s in clause.spans)
    assert [s.text for s in clause.spans][:2] == ["deployment", "ground forces"]


def test_broken_files_are_reported_as_file_line_and_the_rest_load() -> None:
    ruleset = load_ruleset(BROKEN)
    assert [str(e).replace(str(BROKEN) + "/", "") for e in ruleset.errors] == [
        "entities/bad-type.yaml:2: type must be one of person, org, place, not 'planet'",
        "bad-query.yaml:7: query: unexpected ')': parentheses do not balance (column 14)",
        "missing-title.yaml:1: the rule lacks the required key 'title'",
        "same-id-as-good.yaml:1: duplicate rule id 'good': good.yaml:1 has it, so this file is ignored",
        "unknown-entity.yaml:5: query: unknown entity @atlantis (no file in rules/entities/ has that id) (column 10)",
        "unknown-key.yaml:4: unknown key 'exmples' in the rule"
        " (known: id, title, query, description, examples, score, chats)",
        "yaml-syntax.yaml:3: the '[' at line 3 column 8 is never closed (line 4 column 9 should hold ',' or ']')",
    ]
    assert [r.id for r in ruleset.rules] == ["failing-example", "good"]
    matches = Matcher(ruleset).match(Entry(feed_url="", outlet="", url="", title="", summary="Reval port"))
    assert [m.rule_id for m in matches] == ["good"]


def test_checking_examples_rejects_a_rule_whose_examples_fail() -> None:
    ruleset = load_ruleset(BROKEN, check_examples=True)
    assert [r.id for r in ruleset.rules] == ["good"]
    assert (
        f"{BROKEN}/failing-example.yaml:7: example should match but does not: "
        "'Troops, as the ministry said last week in a statement, were deployed.'"
    ) in [str(e) for e in ruleset.errors]


def test_run_examples_reports_failures_at_the_example_line() -> None:
    results = run_examples(load_ruleset(BROKEN))
    assert [(r.rule.id, r.example.line, r.passed) for r in results] == [
        ("failing-example", 6, True),
        ("failing-example", 7, False),
        ("good", 5, True),
    ]


def test_missing_folder_is_one_clear_error() -> None:
    ruleset = load_ruleset(ROOT / "no-such-rules")
    assert [str(e) for e in ruleset.errors] == [f"{ROOT / 'no-such-rules'}: no such rules folder"]


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder)
    return folder


def test_a_broken_edit_keeps_the_previous_version_running(rules_dir: Path) -> None:
    first = load_ruleset(rules_dir)
    write(rules_dir / "troop-deployment.yaml", "id: troop-deployment\ntitle: Troops\nquery: troops NEAR/3\n")
    second = load_ruleset(rules_dir, previous=first)
    assert [str(e) for e in second.errors] == [
        f"{rules_dir}/troop-deployment.yaml:3: query: the query ends too early: an operator, field or '(' "
        "lacks what follows it (column 21); the previous version keeps running"
    ]
    assert second.get("troop-deployment") == first.get("troop-deployment")
    assert load_ruleset(rules_dir).get("troop-deployment") is None


def test_a_broken_entity_file_keeps_its_previous_entity(rules_dir: Path) -> None:
    first = load_ruleset(rules_dir)
    write(rules_dir / "entities" / "estonia.yaml", "id: estonia\ntype: place\nnames: [Estonia\n")
    second = load_ruleset(rules_dir, previous=first)
    assert len(second.errors) == 1
    assert str(second.errors[0]).startswith(f"{rules_dir}/entities/estonia.yaml:3: the '[' at line 3 column 8 is never")
    assert str(second.errors[0]).endswith("; the previous version keeps running")
    assert second.gazetteer.get("estonia") == first.gazetteer.get("estonia")
    assert second.get("estonia") is not None


def test_a_deleted_rule_file_is_gone_after_reload(rules_dir: Path) -> None:
    first = load_ruleset(rules_dir)
    (rules_dir / "sanctions.yaml").unlink()
    assert load_ruleset(rules_dir, previous=first).get("sanctions") is None


def test_weighted_rule_fires_only_when_matched_terms_reach_the_threshold(tmp_path: Path) -> None:
    write(
        tmp_path / "air-defence.yaml",
        """id: air-defence
title: Air defence deliveries
query: (deliver* OR sent OR send*) NEAR/8 (Patriot OR IRIS-T OR "air defence" OR "air defense")
score:
  threshold: 3
  terms:
    - {q: Patriot, w: 2}
    - {q: '"air defence" OR "air defense"', w: 1}
    - {q: '@ukraine', w: 1}
""",
    )
    (tmp_path / "entities").mkdir()
    write(tmp_path / "entities" / "ukraine.yaml", "id: ukraine\ntype: place\nnames: [Ukraine]\naliases: [Kyiv]\n")
    ruleset = load_ruleset(tmp_path)
    assert ruleset.errors == ()
    matcher = Matcher(ruleset)

    def score(text: str) -> float | None:
        found = matcher.match(Entry(feed_url="", outlet="", url="", title="", summary=text))
        return found[0].score if found else None

    assert score("Germany will deliver Patriot systems and air defence radars to Kyiv.") == 4
    assert score("Germany will deliver Patriot systems.") is None
    assert score("Germany sent IRIS-T air defence to Kyiv.") is None
    assert score("Germany sent Patriot air defence.") == 3


def test_score_term_errors_point_at_their_line(tmp_path: Path) -> None:
    write(
        tmp_path / "scored.yaml",
        "id: scored\ntitle: Scored\nquery: tanks\nscore:\n  threshold: 1\n  terms:\n    - {q: 'tanks AND', w: 1}\n",
    )
    assert [str(e) for e in load_ruleset(tmp_path).errors] == [
        f"{tmp_path}/scored.yaml:7: score term: the query ends too early: an operator, field or '(' "
        "lacks what follows it (column 21)"
    ]


def test_query_errors_point_at_the_column_in_quoted_and_folded_queries(tmp_path: Path) -> None:
    write(tmp_path / "quoted.yaml", 'id: quoted\ntitle: Quoted\nquery: "  troops OR OR tanks"\n')
    write(tmp_path / "folded.yaml", "id: folded\ntitle: Folded\nquery: >\n  troops\n    OR OR tanks\n")
    assert [str(e) for e in load_ruleset(tmp_path).errors] == [
        f"{tmp_path}/folded.yaml:5: query: unexpected 'OR' (column 8)",
        f"{tmp_path}/quoted.yaml:3: query: unexpected 'OR' (column 21)",
    ]
