"""Names of wire agencies and major outlets, so that "AP", "the Associated Press" and "(AP)" count as one.

The table is deliberately small: it covers the agencies whose copy is reprinted everywhere and the
outlets most often cited by them. Credits to outlets not listed here are still found when the sentence
says plainly that a named outlet reported something; the table only merges spellings and lets bare
phrases such as "according to Reuters" count, where a person's name in the same place would not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.stories.terms import fold


@dataclass(frozen=True, slots=True)
class Agency:
    """One outlet: the name we show, and the spellings and web domains that mean it."""

    name: str
    aliases: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()


AGENCIES: tuple[Agency, ...] = (
    Agency("Reuters", ("Reuters", "Thomson Reuters", "Рейтер", "Рейтерс"), ("reuters.com",)),
    Agency("AP", ("AP", "Associated Press", "The Associated Press", "AP News"), ("apnews.com",)),
    Agency("AFP", ("AFP", "Agence France-Presse", "Agence France Presse", "Франс Пресс"), ("afp.com",)),
    Agency("RIA News", ("RIA News", "RIA Novosti", "RIA", "РИА Новости", "РИА"), ("ria.ru",)),
    Agency("TASS", ("TASS", "ТАСС", "ITAR-TASS"), ("tass.com", "tass.ru")),
    Agency("Interfax", ("Interfax", "Интерфакс", "Интерфакса", "Interfax-Ukraine"), ("interfax.ru",)),
    Agency("Xinhua", ("Xinhua", "Xinhua News Agency", "Синьхуа"), ("xinhuanet.com", "news.cn")),
    Agency("Anadolu", ("Anadolu", "Anadolu Agency", "Anadolu Ajansı", "Anadolu Ajansi", "AA"), ("aa.com.tr",)),
    Agency("dpa", ("dpa", "Deutsche Presse-Agentur"), ("dpa.com",)),
    Agency("ANSA", ("ANSA",), ("ansa.it",)),
    Agency("EFE", ("EFE", "Agencia EFE"), ("efe.com",)),
    Agency("Kyodo", ("Kyodo", "Kyodo News"), ("kyodonews.net",)),
    Agency("Yonhap", ("Yonhap", "Yonhap News Agency"), ("yna.co.kr",)),
    Agency("PTI", ("PTI", "Press Trust of India"), ("ptinews.com",)),
    Agency("ANI", ("ANI", "Asian News International"), ("aninews.in",)),
    Agency("UNI", ("UNI", "United News of India"), ("uniindia.com",)),
    Agency("IANS", ("IANS", "Indo-Asian News Service"), ("ianslive.in",)),
    Agency("APA", ("APA", "Austria Presse Agentur"), ("apa.at",)),
    Agency("MENAFN", ("MENAFN", "Middle East North Africa Financial Network"), ("menafn.com",)),
    Agency("Bloomberg", ("Bloomberg", "Bloomberg News"), ("bloomberg.com",)),
    Agency("Ukrinform", ("Ukrinform", "Укрінформ"), ("ukrinform.net", "ukrinform.ua")),
    Agency("UNIAN", ("UNIAN", "УНІАН"), ("unian.net", "unian.info")),
    Agency("BNS", ("BNS", "Baltic News Service"), ("bns.ee", "bns.lt")),
    Agency("ERR", ("ERR", "ERR News", "Estonian Public Broadcasting"), ("err.ee",)),
    Agency("LRT", ("LRT", "Lithuanian National Radio and Television"), ("lrt.lt",)),
    Agency("LSM", ("LSM", "Latvian Public Broadcasting"), ("lsm.lv",)),
    Agency("PAP", ("PAP", "Polish Press Agency"), ("pap.pl",)),
    Agency("Politico", ("Politico", "Politico Europe", "POLITICO"), ("politico.com", "politico.eu")),
    Agency("BBC", ("BBC", "BBC News"), ("bbc.co.uk", "bbc.com")),
    Agency("CNN", ("CNN",), ("cnn.com",)),
    Agency("Al Jazeera", ("Al Jazeera",), ("aljazeera.com",)),
    Agency("Axios", ("Axios",), ("axios.com",)),
    Agency("The New York Times", ("New York Times", "The New York Times", "NYT"), ("nytimes.com",)),
    Agency("The Washington Post", ("Washington Post", "The Washington Post"), ("washingtonpost.com",)),
    Agency("The Wall Street Journal", ("Wall Street Journal", "The Wall Street Journal", "WSJ"), ("wsj.com",)),
    Agency("Financial Times", ("Financial Times", "FT"), ("ft.com",)),
    Agency("The Guardian", ("Guardian", "The Guardian"), ("theguardian.com",)),
    Agency("The Economist", ("Economist", "The Economist"), ("economist.com",)),
    Agency("Der Spiegel", ("Spiegel", "Der Spiegel"), ("spiegel.de",)),
    Agency("Le Monde", ("Le Monde",), ("lemonde.fr",)),
    Agency("Izvestia", ("Izvestia", "Izvestiya", "Известия"), ("iz.ru",)),
    Agency("Kommersant", ("Kommersant", "Коммерсант", "Коммерсантъ"), ("kommersant.ru",)),
    Agency("Kyiv Independent", ("Kyiv Independent", "The Kyiv Independent"), ("kyivindependent.com",)),
)

HOME_LANGUAGES: dict[str, str] = {
    **dict.fromkeys(("RIA News", "TASS", "Interfax", "Izvestia", "Kommersant"), "ru"),
    **dict.fromkeys(("Ukrinform", "UNIAN"), "uk"),
    **dict.fromkeys(("dpa", "Der Spiegel", "APA"), "de"),
    **dict.fromkeys(("AFP", "Le Monde"), "fr"),
    "ANSA": "it", "EFE": "es", "Xinhua": "zh", "Anadolu": "tr", "Kyodo": "ja", "Yonhap": "ko", "PAP": "pl",
    "ERR": "et", "LRT": "lt", "LSM": "lv",
    **dict.fromkeys(
        ("Reuters", "AP", "PTI", "ANI", "UNI", "IANS", "MENAFN", "Bloomberg", "Politico", "BBC", "CNN", "Al Jazeera",
         "Axios", "The New York Times", "The Washington Post", "The Wall Street Journal", "Financial Times",
         "The Guardian", "The Economist", "Kyiv Independent", "BNS"),
        "en",
    ),
}  # fmt: skip
"""The language an outlet of the table publishes its originals in, for "originally RIA News (ru)"."""

# Words that make an unknown name look like a news outlet rather than a person or a government body.
OUTLET_WORDS = frozenset(
    """news times post journal press agency telegraph herald guardian tribune gazette daily wire tv
    radio media network broadcasting broadcaster monitor observer express mail standard chronicle courier
    review magazine today insider report reporter informer independent pravda zeitung presse kurier
    nachrichten rundschau allgemeine agence journal quotidien libération télévision novosti vedomosti
    gazeta известия новости газета ведомости""".split()
)

_DOMAIN = re.compile(r"\b[\w-]+\.(?:com|net|org|ru|ua|de|fr|uk|ee|lt|lv|info|eu|in|it|es|pl|co)\b", re.I)


def _alias_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for agency in AGENCIES:
        for spelling in (agency.name, *agency.aliases, *agency.domains):
            table[fold(spelling)] = agency.name
    return table


ALIASES: dict[str, str] = _alias_table()


def known(name: str) -> str | None:
    """The table's name for `name`, or None when the table does not know it."""
    key = fold(name.strip(" .,;:'\"()[]"))
    key = key.removesuffix("'s").removesuffix("'")
    if key.startswith("the ") and key not in ALIASES:
        key = key[4:]
    return ALIASES.get(key)


def looks_like_outlet(name: str) -> bool:
    """True when an unknown name carries an outlet word ("Moscow Times") or is a web domain."""
    if _DOMAIN.search(name):
        return True
    return any(fold(word) in OUTLET_WORDS for word in re.findall(r"[^\W\d_]+", name))


def canonical_outlet(name: str, url: str = "") -> str:
    """The outlet's display name: the table's name when the URL's domain or the name is known, else as given.

    The domain goes first: an aggregator feed called "World news" that links to menafn.com carries
    MENAFN's article. Feed titles such as "MENAFN - Latest News" are cut at the dash before the lookup.
    """
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    for agency in AGENCIES:
        if any(host == d or host.endswith("." + d) for d in agency.domains):
            return agency.name
    for candidate in (name, re.split(r"\s+[-|–—:]\s+", name, maxsplit=1)[0]):
        found = known(candidate)
        if found:
            return found
    return name.strip() or host
