"""`chats:` in a rule file: the chats that may see and follow the topic (issue 20: desks serving several
clients); tests/e2e/test_access_e2e.py checks what the daemon makes of it."""

from __future__ import annotations

import pytest

from bot.match.entities import Gazetteer
from bot.match.errors import FileProblem
from bot.match.rules import parse_rule

RULE = "id: desk\ntitle: Client desk\nquery: quillwort\n"


def test_a_rule_without_chats_is_open_to_every_chat() -> None:
    rule = parse_rule("desk.yaml", RULE, Gazetteer({}))
    assert rule.chats == frozenset() and rule.open_to(4242) and rule.open_to(-1001234567890)


@pytest.mark.parametrize(("written", "chats"), [("[-1001234567890, 4242]", {-1001234567890, 4242}), ("4242", {4242})])
def test_chats_name_the_only_chats_it_is_open_to(written: str, chats: set[int]) -> None:
    rule = parse_rule("desk.yaml", RULE + f"chats: {written}\n", Gazetteer({}))
    assert rule.chats == chats
    assert rule.open_to(4242) and not rule.open_to(777)


@pytest.mark.parametrize("written", ["[desk-one]", "[1.5]", "[99999999999999999999999]", "[{id: 1}]", "''", "[[1]]"])
def test_a_chats_entry_that_is_no_chat_id_is_one_sentence_at_its_line(written: str) -> None:
    with pytest.raises(FileProblem) as problem:
        parse_rule("desk.yaml", RULE + f"chats: {written}\n", Gazetteer({}))
    assert problem.value.line == 4
    assert str(problem.value).startswith("chats must")
    assert not {"desk-one", "1.5", "9999", "id"} & set(str(problem.value).split())  # the value is not echoed
