"""Places across languages: "Russland", "России" and "Росії" name what "Russia" names, "Kiew" and "Киев" "Kyiv".

A name meets its transliteration through `terms.name_key`, but not its exonym: the German, Russian and
Ukrainian names of a country or a city are often other words ("Deutschland", "Германия", "Німеччина";
"Wien", "Вена", "Відень"), so reports of one event in two languages shared no name where they shared a
place. The names come from the Unicode CLDR through Babel: every supported language's name of every
country, and of the cities that name its time zones. They are read once, when first needed (about 0.2 s).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from functools import cache

from babel import Locale

from bot.stories.terms import STEMMERS, fold, language_code, name_key, stemmer, words_as_written

ENGLISH_NAMES = {"GB": "Britain", "US": "America"}
"""The single word English reports use for the countries whose English name is several words."""
MORE_NAMES = {"GB": ("Großbritannien",), "US": ("USA", "США")}
"""Names of a country the CLDR does not give as a single word, in any language."""
_VOWELS = "aeiouyаеёиоуыэюяіїєь"
SHORTEST = 3
"""Vowels are not dropped from a form if fewer letters would be left ("США")."""


def _bare(word: str) -> str:
    bare = word.rstrip(_VOWELS)
    return bare if len(bare) >= SHORTEST else word


def _forms(word: str, language: str) -> tuple[str, ...]:
    """What a place's name is compared by in a language: its stem (Ukrainian, which Snowball lacks: the word)
    and the word itself, final vowels dropped from both, so that the cases meet ("Россия", "России"; "Росія",
    "Росії"; "Киев", whose stem is "ки", and "Киева")."""
    folded = fold(word)
    stem = str(stemmer(language).stemWord(folded)) if STEMMERS.get(language) else folded
    return tuple(dict.fromkeys((_bare(stem), _bare(folded))))


def _ukrainian_cases(name: str) -> tuple[str, ...]:
    """The stem a Ukrainian name takes in its other cases where the vowel of its last syllable changes or
    drops: "Київ" -> "Києва", "Кишинів" -> "Кишинева", "Львів" -> "Львова", "Відень" -> "Відня", "у Відні"."""
    if len(name) >= 4 and name[-2] in "ії" and name[-1] not in _VOWELS:
        return tuple(name[:-2] + vowel + name[-1] for vowel in "оеє")
    if name.endswith(("ень", "ець")):
        return (name[:-3] + name[-2],)
    return ()


def _one_word(name: str) -> bool:
    return bool(name) and " " not in name and "-" not in name


def _places() -> Iterator[tuple[str, str]]:
    """Each place as (its English name, its id: a country code or a time zone): the countries, then the cities of
    the time zones (whose English name, where the CLDR gives none, is the zone's: "Europe/Moscow")."""
    english = Locale("en")
    for code, name in english.territories.items():
        if len(code) == 2 and code.isalpha():
            yield ENGLISH_NAMES.get(code, name), code
    for zone in map(str, Locale("ru").time_zones):  # the locale that names the most zones' cities
        city = english.time_zones.get(zone, {}).get("city") or zone.rpartition("/")[2].replace("_", " ")
        yield str(city), zone


@cache
def _keys(cities: bool) -> dict[str, dict[str, str]]:
    """By language, the form of each country's (and with `cities`, city's) single-word name there, with the key
    of its single-word English name. A form two places share under different keys ("Niger", "Nigeria") is
    left out."""
    places = [
        (name_key(english), place, english)
        for english, place in _places()
        if _one_word(english) and (cities or len(place) == 2)
    ]
    found: dict[str, dict[str, str]] = {}
    for language in STEMMERS:
        locale = Locale(language)
        forms: dict[str, set[str]] = defaultdict(set)
        for key, place, english in places:
            if language == "en":
                local = english
            elif len(place) == 2:
                local = locale.territories.get(place, "")
            else:
                local = locale.time_zones.get(place, {}).get("city", "")
            for name in (local, *MORE_NAMES.get(place, ())):
                if _one_word(name):
                    for form in _forms(name, language) + (_ukrainian_cases(fold(name)) if language == "uk" else ()):
                        forms[form].add(key)
        found[language] = {form: next(iter(keys)) for form, keys in forms.items() if len(keys) == 1}
    return found


def place_key(word: str, language: str, *, cities: bool = True) -> str | None:
    """The key of the English name of the place `word` names in `language` (a two-letter code), if it names
    one: "Russland" (de) and "России" (ru) -> name_key("Russia"); a genitive "s" the stemmer kept ("Kiews") is
    tried without."""
    keys = _keys(cities).get(language)
    if keys is None:
        return None
    forms = _forms(word, language) + (_forms(word[:-1], language) if word.endswith("s") else ())
    return next((keys[form] for form in forms if form in keys), None)


def with_places(written: dict[str, str], language: str | None) -> dict[str, str]:
    """Names by key (terms.written_names), each place's under the key of its English name (English names need
    none: their keys are those)."""
    code = language_code(language)
    if code == "en":
        return written
    found: dict[str, str] = {}
    for key, word in written.items():
        found.setdefault(place_key(word, code) or key, word)
    return found


def countries_in(text: str, language: str | None) -> dict[str, str]:
    """The countries a text names with a capital, wherever the word stands (names are otherwise not read
    from a headline's capitals or a sentence's first word, which is where reports put the country: "Russia and
    Ukraine hold talks"), by key, as written."""
    code = language_code(language)
    found: dict[str, str] = {}
    for word in words_as_written(text):
        if word[0].isupper() and (key := place_key(word, code, cities=False)) is not None:
            found.setdefault(key, word)
    return found
