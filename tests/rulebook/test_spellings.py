"""The gazetteer's entities are found in other scripts and spellings of their names too, so reports in
German or Ukrainian name the same entities as English and Russian ones for the story index."""

from __future__ import annotations

from pathlib import Path

from bot.model import Entry
from bot.rulebook.book import Rules
from bot.rulebook.load import load_ruleset

SHIPPED_RULES = Path(__file__).resolve().parents[2] / "bot" / "starter" / "rules"


def _entities(title: str, body: str) -> frozenset[str]:
    rules = Rules.compile(load_ruleset(SHIPPED_RULES))
    return rules.entity_ids(Entry(feed_url="", outlet="x", url="https://example.org/a", title=title, summary=body))


def test_a_german_spelling_finds_the_entity_its_aliases_spell_otherwise() -> None:
    # "Kiew" is in no alias (Kyiv, Kiev, Київ, Киев): its key is Kiev's.
    assert "ukraine" in _entities("Besuch", "Der Präsident traf in Kiew den Außenminister.")


def test_a_ukrainian_text_names_estonia_through_tallinn() -> None:
    assert "estonia" in _entities("Візит", "Прем'єр-міністр прибула до Таллінна в понеділок.")


def test_ambiguous_short_forms_still_need_company() -> None:
    assert "kaja-kallas" not in _entities("Visit", "The minister met Kallas in the capital.")
    assert "kaja-kallas" in _entities("Visit", "The minister met Kaja Kallas in the capital.")
