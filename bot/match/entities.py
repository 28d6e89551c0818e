"""The gazetteer: people, organisations and places with every name they go by.

An entity file (rules/entities/*.yaml) holds one entity:

    id: kaja-kallas
    type: person            # person, org or place
    names: [Kaja Kallas]    # canonical names, first one is shown to users
    aliases: [Кая Каллас]   # other spellings, scripts, inflections (wildcards allowed: Эстони*)
    ambiguous: [Kallas]     # short forms that count only beside an unambiguous name

A query refers to it as `@kaja-kallas` and then matches any of these forms as a phrase.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from yaml.nodes import Node

from bot.match.errors import FileProblem, shown
from bot.match.text import WILDCARDS, pattern_words
from bot.match.yamlnodes import compose_mapping, keys, line_of, sequence, text_value

ENTITY_TYPES = ("person", "org", "place")
_KEYS = ("id", "type", "names", "aliases", "ambiguous", "description")


@dataclass(frozen=True, slots=True)
class Entity:
    """`forms` are the unambiguous names as folded word patterns; `ambiguous` need company."""

    id: str
    type: str
    display_name: str
    forms: tuple[tuple[str, ...], ...]
    ambiguous: tuple[tuple[str, ...], ...]
    path: str = ""


@dataclass(frozen=True, slots=True)
class Gazetteer:
    """Entities by id."""

    entities: Mapping[str, Entity]

    def get(self, entity_id: str) -> Entity | None:
        return self.entities.get(entity_id)

    def __contains__(self, entity_id: object) -> bool:
        return entity_id in self.entities


def parse_entity(path: str, text: str) -> Entity:
    """Read one entity file; raise FileProblem at the offending line."""
    root = compose_mapping(text, "an entity file")
    found = keys(root, _KEYS, ("id", "type", "names"), "the entity")
    entity_id = text_value(found["id"][1], "id").casefold()
    if any(c.isspace() for c in entity_id):
        raise FileProblem(line_of(found["id"][1]), f"entity id {shown(entity_id)} must not contain spaces")
    kind = text_value(found["type"][1], "type")
    if kind not in ENTITY_TYPES:
        raise FileProblem(
            line_of(found["type"][1]), f"type must be one of {', '.join(ENTITY_TYPES)}, not {shown(kind)}"
        )
    names = _names(found["names"][1], "names")
    if not names:
        raise FileProblem(line_of(found["names"][1]), "names must list at least one name")
    aliases = _names(found["aliases"][1], "aliases") if "aliases" in found else []
    ambiguous = _names(found["ambiguous"][1], "ambiguous") if "ambiguous" in found else []
    return Entity(
        id=entity_id,
        type=kind,
        display_name=names[0][0],
        forms=tuple(words for _, words in names + aliases),
        ambiguous=tuple(words for _, words in ambiguous),
        path=path,
    )


def _names(node: Node, what: str) -> list[tuple[str, tuple[str, ...]]]:
    """Each name as written and as folded word patterns."""
    result = []
    for item in sequence(node, what):
        name = text_value(item, f"each of {what}")
        words = pattern_words(name)
        if not words or any(all(c in WILDCARDS for c in w) for w in words):
            raise FileProblem(line_of(item), f"{what}: {shown(name)} has no letters or digits to search for")
        result.append((name, words))
    return result
