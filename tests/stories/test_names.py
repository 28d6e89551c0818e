"""Names meet across scripts and spellings; words are stemmed in the entry's language, detected when the
feed names none. The spellings are those of real reports: German press writes "Selenskyj" and "Schoigu",
English "Zelensky" or "Zelenskyy", Russian and Ukrainian "Зеленский" and "Зеленський"."""

from __future__ import annotations

import pytest

from bot.model import Entry
from bot.stories.features import observe
from bot.stories.language import detect, entry_language
from bot.stories.terms import name_key, names, spelling, terms


@pytest.mark.parametrize(
    "spellings",
    [
        ("Zelensky", "Zelenskyy", "Selenskyj", "Зеленский", "Зеленський", "Zelenskiy"),
        ("Kallas", "Каллас"),
        ("Scholz", "Шольц"),
        ("Macron", "Макрон"),
        ("Shoigu", "Schoigu", "Шойгу"),
        ("Lavrov", "Lawrow", "Лавров"),
        ("Navalny", "Nawalny", "Навальный"),
        ("Orbán", "Orban", "Орбан"),
        ("Müller", "Muller", "Mueller"),
        ("Kyiv", "Київ"),
        ("Estonia", "Estonian", "Эстонии", "Эстония"),
        ("Russia", "Russian", "Russia's", "Россия", "Росія"),
        ("Japan", "Japanese"),
        ("Jackson", "Джексон"),
        ("Rahman", "Рахман"),
        ("Iraq", "Irak", "Ирак"),
    ],
)
def test_spellings_of_one_name_share_a_key(spellings: tuple[str, ...]) -> None:
    assert len({name_key(word) for word in spellings}) == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [("Kallas", "Karis"), ("Putin", "Peskov"), ("Macron", "Merkel"), ("Scholz", "Schröder"), ("Kyiv", "Kharkiv")],
)
def test_different_names_keep_different_keys(first: str, second: str) -> None:
    assert name_key(first) != name_key(second)


def test_a_spelling_is_plain_latin_letters() -> None:
    assert spelling("Зеленський") == spelling("Selenskyj") == "selenski"
    assert spelling("Naval'nyy").isalpha()


def test_names_in_russian_and_english_reports_meet() -> None:
    russian = "Премьер-министр Эстонии Кая Каллас отказалась гарантировать, что военные не будут отправлены на Украину."
    english = "The Estonian Prime Minister Kaja Kallas refused to guarantee that troops will not be sent to Ukraine."
    assert {name_key("Kallas"), name_key("Estonia"), name_key("Ukraine")} <= names(russian) & names(english)


def test_words_are_stemmed_in_their_language() -> None:
    assert terms("Truppen", "de") == terms("Truppe", "de")
    assert terms("войска", "ru") == terms("войсками", "ru")
    assert terms("військові", "uk") == terms("військовий", "uk")  # cut to the first letters
    assert terms("deployed", "en-GB") == terms("deployment", "en")


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Kallas refused to guarantee that Estonian troops will not be sent to Ukraine", "en"),
        ("Каллас отказалась гарантировать, что эстонские военные не будут отправлены на Украину", "ru"),
        ("Каллас відмовилася гарантувати, що естонські військові не будуть відправлені в Україну", "uk"),
        ("Sebastian Kurz gegen geplante Börsensteuer von Olaf Scholz", "de"),
    ],
)
def test_the_language_of_a_text_is_detected(text: str, language: str) -> None:
    assert detect(text) == language


def test_the_feed_language_wins_and_detection_fills_in() -> None:
    text = "Deutschland kontrolliert Grenzen - Rückstaus an Übergängen"
    assert entry_language(Entry(feed_url="", outlet="x", url="u", title=text, language="en-US")) == "en"
    assert entry_language(Entry(feed_url="", outlet="x", url="u", title=text)) == "de"
    assert detect("2024 — 15:30") is None


def test_an_undeclared_russian_entry_is_stemmed_as_russian() -> None:
    entry = Entry(feed_url="", outlet="РИА Новости", url="u", title="Войска переброшены к границе")
    observed = observe(entry)
    assert observed.language == "ru"
    assert terms("войска", "ru")[0] in observed.counts


def _named(title: str, body: str, language: str) -> set[str]:
    counts = observe(Entry(feed_url="", outlet="", url="", title=title, summary=body, language=language)).counts
    return {feature for feature in counts if feature.startswith("@")}


@pytest.mark.parametrize(
    ("language", "body"),
    [
        ("de", "In Wien sprachen Russland und Deutschland mit China, Kiew und den USA."),
        ("de", "Nach Angaben Russlands sprachen in Wien Vertreter Deutschlands, Chinas, Kiews und der USA."),
        ("ru", "По словам России, в Вене представители Германии, Китая, Киева и США провели переговоры."),
        ("uk", "За словами Росії, у Відні представники Німеччини, Китаю, Києва та США провели переговори."),
    ],
    ids=["de", "de, genitive", "ru", "uk"],
)
def test_places_named_in_another_language_meet_their_english_names(language: str, body: str) -> None:
    """Countries and cities by their names in the CLDR (bot/stories/places.py), in the cases of each language,
    Ukrainian cases that change a vowel of the name included ("Київ", "Києва"; "Відень", "у Відні")."""
    english = _named("Talks", "In Vienna, officials of Russia, Germany, China, Kyiv and America held talks.", "en")
    assert {"@" + name_key(name) for name in ("Vienna", "Russia", "Germany", "China", "Kyiv", "America")} <= english
    assert english <= _named("Talks", body, language)


def test_words_that_name_no_country_keep_their_own_keys() -> None:
    assert _named("Talks", "Officials said the Regierung met in Moskau.", "de") == {
        "@" + name_key("Regierung"), "@" + name_key("Moskau")
    }
