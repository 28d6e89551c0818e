"""bot/yamlread.py: libyaml's loader and the pure-Python fallback give the same nodes, marks, limits and
plain-word messages; nesting and alias limits hold whatever the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from yaml.nodes import Node

from bot.starter import RULES
from bot.yamlread import MAX_DEPTH, YamlProblem, compose, plain_values
from tests.test_yaml_files_cli import BOMB, MISTAKES

LOADERS = [pytest.param(yaml.SafeLoader, id="pure-python")]
if yaml.__with_libyaml__:
    LOADERS.append(pytest.param(yaml.CSafeLoader, id="libyaml"))
STARTER = Path(RULES).parent

BROKEN = {
    **{name: text for name, (text, _, _) in MISTAKES.items()},
    "single quote": "names: ['Estonia]\n",
    "colon in a value": "title: Kallas: no troops\n",
    "text after a quoted value": 'title: "Kallas" says\n',
    "a stray bracket": "names: [a, b]]\n",
    "no colon": "id: x\ntitle Troops\nquery: q\n",
    "unknown escape": 'title: "a\\q"\n',
    "control character": "title: a\x07b\n",
    "undefined alias": "id: *nope\n",
    "two documents": "id: x\n---\nid: y\n",
    "value starting with @": "query: @estonia\n",
    "unclosed flow mapping at the end": "score: {threshold: 2\n",
    "first line indented": "  id: x\ntitle: T\n",
}


def problem(text: str, loader: type) -> tuple[int, int, str]:
    with pytest.raises(YamlProblem) as caught:
        compose(text, loader)
    return caught.value.line, caught.value.column, caught.value.message


@pytest.mark.parametrize("name", list(BROKEN))
def test_both_loaders_say_the_same_in_plain_words(name: str) -> None:
    text = BROKEN[name]
    said = {problem(text, loader.values[0]) for loader in LOADERS}  # type: ignore[attr-defined]
    assert len(said) == 1, said
    ((line, column, message),) = said
    assert "YAML syntax error" not in message and "expected <" not in message and "did not find" not in message
    assert 1 <= line <= text.count("\n") + 1 and column >= 1


def test_mistakes_name_their_cause() -> None:
    assert problem(BROKEN["unknown escape"], yaml.SafeLoader)[2].startswith("'\\\\q' at line 1 column 10 is no escape")
    assert problem(BROKEN["undefined alias"], yaml.SafeLoader)[2] == (
        "the alias *nope at line 1 column 5 names no anchor (&name) above it"
    )
    assert problem(BROKEN["control character"], yaml.SafeLoader)[2] == (
        "the character U+0007 at line 1 column 9 cannot appear in YAML; remove it"
    )
    assert problem(BROKEN["first line indented"], yaml.SafeLoader)[:2] == (1, 3)


def _shape(node: Node | None) -> object:
    """A node tree with every mark, to compare what two loaders composed."""
    if node is None:
        return None
    marks = (node.start_mark.index, node.start_mark.line, node.start_mark.column, node.end_mark.index)
    if isinstance(node.value, str):
        return (node.tag, marks, node.value, node.style or None)  # a plain scalar's style: None or ""
    parts = [tuple(_shape(n) for n in item) if isinstance(item, tuple) else _shape(item) for item in node.value]
    return (node.tag, marks, parts)


@pytest.mark.parametrize(
    "path", [*sorted(STARTER.glob("rules/**/*.yaml")), STARTER / "config.example.yaml"], ids=lambda p: p.name
)
def test_both_loaders_compose_the_same_nodes_and_marks(path: Path) -> None:
    text = "\ufeff" + path.read_text() + "\nextra: [Эстония, 😀 Tallinn, {a: 1}]\n"
    shapes = {repr(_shape(compose(text, loader.values[0]))) for loader in LOADERS}  # type: ignore[attr-defined]
    assert len(shapes) == 1


@pytest.mark.parametrize("loader", LOADERS)
def test_nesting_past_the_limit_is_refused_at_its_line(loader: type) -> None:
    fine = "a:\n" + "".join("  " * i + "- \n" for i in range(1, MAX_DEPTH - 1))
    assert compose(fine, loader) is not None
    deep = "a: 1\nb: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n"
    assert problem(deep, loader) == (2, 0, f"lists and mappings nest more than {MAX_DEPTH} levels deep")
    # Past libyaml's own limit of 1,000 levels too, at the line where ours passed.
    very_deep = "".join("  " * k + "-\n" for k in range(70)) + "  " * 70 + "- " + "[" * 20_000 + "\n"
    assert problem(very_deep, loader) == (
        MAX_DEPTH + 1,
        0,
        f"lists and mappings nest more than {MAX_DEPTH} levels deep",
    )


@pytest.mark.parametrize("loader", LOADERS)
def test_nesting_through_aliases_counts(loader: type) -> None:
    half = MAX_DEPTH // 2 + 2
    text = f"a: &a {'[' * half}1{']' * half}\nb: {'[' * half}*a{']' * half}\n"
    assert problem(text, loader)[2] == f"lists and mappings nest more than {MAX_DEPTH} levels deep"


@pytest.mark.parametrize("loader", LOADERS)
def test_a_billion_laughs_and_a_cycle_are_refused(loader: type) -> None:
    assert problem(BOMB, loader) == (
        6,
        4,
        "the aliases in the list on line 6 expand it to more than 100,000 values, which no hand-written file needs "
        '(a YAML "billion laughs")',
    )
    assert problem("a: &a [1, *a]\n", loader) == (
        1,
        4,
        "the list that starts at line 1 column 4 holds an alias of itself",
    )


def test_big_files_and_honest_aliases_pass() -> None:
    big = "feeds:\n" + "".join(f"  - url: http://127.0.0.1/{i}\n    every: 5m\n" for i in range(25_000))
    assert len(plain_values(compose(big))["feeds"]) == 25_000  # 125,000 values, more than aliases may make
    merged = "defaults: &d {every: 5m, fulltext: false}\nfeeds:\n" + "  - {<<: *d, url: http://a/}\n" * 1000
    for loader in LOADERS:
        values = plain_values(compose(merged, loader.values[0]))  # type: ignore[attr-defined]
        assert values["feeds"][999] == {"every": "5m", "fulltext": False, "url": "http://a/"}
    assert compose("") is None and plain_values(None) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "a: !!python/object/apply:os.system [ls]\n",
            "the value at line 1 column 4 cannot be used: the tag 'python/object/apply:os.system' is not one of "
            "YAML's plain types; quote it if it is text",
        ),
        (
            "a: 2001-13-45\n",
            "the value at line 1 column 4 cannot be used: it does not read as timestamp (month must be in 1..12); "
            "quote it if it is text",
        ),
        ("{[1]: 2}\n", "the value at line 1 column 2 cannot be used: a list or mapping cannot be a key"),
    ],
)
def test_values_a_tag_cannot_make_are_problems_at_their_line(text: str, message: str) -> None:
    with pytest.raises(YamlProblem) as caught:
        plain_values(compose(text))
    assert caught.value.message == message
