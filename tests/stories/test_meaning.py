"""The meaning signal: the packaged multilingual model, the one decision that weighs it with names, entities,
words and time, and where the ingest computes it (only for entries that may alert)."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from bot.config import StoriesConfig
from bot.ingest.story_window import StoryWindow, ToFile
from bot.model import Entry
from bot.rulebook.book import Rules
from bot.rulebook.load import load_ruleset
from bot.stories.decision import Evidence, same_event
from bot.stories.features import StoryFeatures
from bot.stories.index import ClusterConfig, StoryIndex
from bot.stories.meaning import load_e5, meaning_text
from bot.stories.quality import bcubed
from bot.stories.terms import name_key
from tests.stories.articles import load_articles

PAIRS = Path(__file__).parent / "testdata" / "meaning_pairs.yaml"
SHIPPED_RULES = Path(__file__).resolve().parents[2] / "bot" / "starter" / "rules"
SEEN = datetime(2024, 3, 14, tzinfo=UTC)


def _pairs() -> list[tuple[str, Entry, Entry]]:
    found = []
    for item in yaml.safe_load(PAIRS.read_text(encoding="utf-8")):
        a, b = (
            Entry(feed_url="", outlet=item[s]["url"].split("/")[2], url=item[s]["url"], title=item[s]["title"],
                  summary=item[s]["text"], language=item[s]["lang"])
            for s in ("a", "b")
        )  # fmt: skip
        found.append((item["label"], a, b))
    return found


def _joined(index: StoryIndex, first: Entry, second: Entry) -> bool:
    index.add(1, first, at=SEEN)
    index.add(2, second, at=SEEN)
    return index.story_of(1) == index.story_of(2)


def test_the_model_is_loaded_once_per_process_and_gives_unit_vectors() -> None:
    embed = load_e5()
    assert embed is not None and load_e5() is embed
    vectors = embed(["Kallas refused to guarantee", "Каллас отказалась гарантировать"])
    assert [round(sum(x * x for x in v), 3) for v in vectors] == [1.0, 1.0]


def test_german_and_english_reports_of_one_event_join_by_meaning_and_related_events_do_not() -> None:
    embed = load_e5()
    for label, german, english in _pairs():
        assert _joined(StoryIndex(ClusterConfig(meaning=True), embed), german, english) == (label == "same"), label
        # Words and names alone join none of them.
        assert not _joined(StoryIndex(), german, english)


def test_meaning_never_decides_alone() -> None:
    close = Evidence(meaning=0.9, words=0.0, names=(), entities=(), who=0.0, apart=0.0, hours=0.0)
    assert same_event(close) < 0.5
    named = Evidence(meaning=0.9, words=0.3, names=("kalas", "eston"), entities=(), who=0.4, apart=0.0, hours=1.0)
    assert same_event(named) > 0.5
    later = Evidence(meaning=0.9, words=0.3, names=("kalas", "eston"), entities=(), who=0.4, apart=0.0, hours=40.0)
    assert same_event(later) < same_event(named)


def test_the_seeds_and_their_hard_negatives_keep_their_stories_with_meaning() -> None:
    """The Kallas and Macron events beside the seed story read alike to the model: they stay apart."""
    rules = Rules.compile(load_ruleset(SHIPPED_RULES))
    articles = load_articles()
    index = StoryIndex(ClusterConfig(meaning=True), load_e5())
    for number, article in enumerate(articles, start=1):
        index.add(number, article.entry, rules.entity_ids(article.entry))
    stories = {a.key: index.story_of(number) for number, a in enumerate(articles, start=1)}
    assert bcubed(stories, {a.key: a.story for a in articles}).f1 == 1.0


def _report(n: int, title: str, body: str) -> Entry:
    return Entry(feed_url="", outlet=f"o{n}", url=f"https://example.org/{n}", title=title, summary=body)


def test_the_ingest_embeds_only_entries_that_may_alert_and_nearly_join_a_story() -> None:
    """Meaning can change a decision only for an entry that may alert and whose words nearly joined a story
    (a shared name or entity): only then is it embedded, with the story's first report, kept unread till
    then."""
    rules = Rules.compile(load_ruleset(SHIPPED_RULES))
    window = StoryWindow(StoriesConfig(), load_e5(), meaning=True)
    entries = [
        _report(1, "Harbour strike enters its third day", "Dock workers in Rotterdam stayed out on Monday."),
        _report(2, "Streik im Hafen geht weiter", "Die Hafenarbeiter in Rotterdam streiken den dritten Tag."),
        _report(3, "Festival opens", "Thousands came to the opening night in Rotterdam."),
    ]
    read = window.observe(rules, entries, [True, True, False])
    assert read[0].meaning_text.startswith("Harbour strike") and not read[2].meaning_text
    batch = [ToFile(n, e.url, o, SEEN) for n, (e, o) in enumerate(zip(entries, read, strict=True), start=1)]
    filed = window.file(batch, SEEN)
    window.commit()
    second = filed[1].features
    assert second is not None and second.vector is not None and len(second.vector) == 384
    assert filed[2].features is not None and filed[2].features.vector is None  # may not alert


def test_a_report_sharing_only_a_country_beyond_its_heaviest_features_is_compared_by_meaning() -> None:
    """Across languages the names are often all two reports share, and a common one ("Russland" for "Russia",
    named by many reports of the window) weighs less than a German report's capitalised nouns: candidates are
    looked up by every name too, not only by the heaviest features."""
    index = StoryIndex(ClusterConfig(meaning=True), load_e5())
    others = [f"{topic} in Russia drew comment on {day}" for topic in ("Floods", "Elections", "Prices", "Strikes")
              for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")]  # fmt: skip
    for number, text in enumerate(others, start=3):
        other = _report(number, text, f"{text}, officials said.")
        index.file(number, other.url, index.observe(other, embed=False), SEEN)
    index.add(1, _report(1, "Talks end", "Negotiators from Russia met in a closed room on Tuesday evening."), at=SEEN)
    german = _report(
        2, "Gespräche beendet",
        "Die Unterhändler, Sonderbeauftragten, Militärattachés, Völkerrechtler, Staatssekretäre, Dolmetscher, "
        "Generalstabsoffiziere, Gesandten, Protokollchefs, Abgeordneten und Beobachter aus Russland trafen sich "
        "am Dienstagabend hinter verschlossenen Türen.",
    )  # fmt: skip
    filed = index.add(2, replace(german, language="de"), at=SEEN)
    assert filed.features is not None
    assert filed.features.terms.index("@" + name_key("Russia")) >= ClusterConfig().distinctive
    assert filed.features.vector is not None


def test_an_entry_with_nothing_near_or_joining_by_its_words_is_not_embedded() -> None:
    calls: list[str] = []
    embed = load_e5()
    assert embed is not None

    def counted(texts: Sequence[str]) -> Sequence[Sequence[float]]:
        calls.extend(texts)
        return embed(texts)

    index = StoryIndex(ClusterConfig(meaning=True), counted)
    # MENAFN's seed report (nothing before it), its reprint (a copy), and a rewrite that shares its words.
    articles = [a for a in load_articles() if a.key in ("seed-001", "seed-001-reprint", "seed-000")]
    for number, article in enumerate(articles, start=1):
        index.add(number, article.entry)
    assert index.story_of(1) == index.story_of(2) == index.story_of(3)
    assert calls == []


def test_a_meaning_vector_and_the_language_are_stored_with_the_features() -> None:
    earlier = _report(1, "Troops at the border", "Russia moved troops to the border with Estonia on Monday.")
    entry = _report(2, "Войска у границы", "Россия перебросила войска к границе с Эстонией.")
    index = StoryIndex(ClusterConfig(meaning=True), load_e5())
    index.add(1, earlier, at=SEEN)
    features = index.add(2, entry, at=SEEN).features
    assert features is not None and features.vector is not None
    again = StoryFeatures.from_bytes(features.to_bytes())
    assert again.language == "ru" and again.vector == features.vector and again.terms == features.terms


def test_features_stored_before_the_language_was_kept_are_read() -> None:
    import struct

    old = struct.pack("<BHHHq", 1, 1, 0, 0, 7) + array("f", [1.0]).tobytes() + b"kallas"
    features = StoryFeatures.from_bytes(old)
    assert features.terms == ("kallas",) and features.language == "" and features.digest == 7


def test_the_text_embedded_is_bounded() -> None:
    entry = Entry(feed_url="", outlet="x", url="u", title="T" * 5000, summary="word " * 100_000)
    assert len(meaning_text(entry)) <= 602


@pytest.mark.parametrize("meaning", [True, False])
async def test_stories_meaning_chooses_the_window(meaning: bool) -> None:
    window = await StoryWindow.open(StoriesConfig(meaning=meaning))
    assert window.index.config.meaning is meaning
    assert (window.index.embedder is not None) is meaning


def test_reports_told_in_one_template_stay_apart() -> None:
    """Made-up and templated texts ("The harbour of X reported ...") read alike to the model; without a
    name, an entity or enough words in common, meaning joins nothing."""
    from bot import clock
    from tests.e2e.burst import burst_items
    from tests.trends.items import harbour_items

    now = clock.now()
    index = StoryIndex(ClusterConfig(meaning=True), load_e5())
    items = burst_items(4) + harbour_items("t", [now] * 4)
    for number, item in enumerate(items, start=1):
        entry = Entry(feed_url="f", outlet="o", url=item.link, title=item.title, summary=item.body, published=now)
        index.add(number, entry)
    assert len({index.story_of(n) for n in range(1, len(items) + 1)}) == len(items)


def test_embedding_ahead_changes_no_story_and_leaves_the_filing_little_to_embed() -> None:
    """The filing embeds a batch's likely texts at once, before its transaction begins (embed_ahead): the
    stories are those of embedding each text when filing needs it, and filing itself then embeds little (what
    the guess missed), the longer texts of comparisons across languages included."""
    rules = Rules.compile(load_ruleset(SHIPPED_RULES))
    entries = [article.entry for article in load_articles()] + [e for _, a, b in _pairs() for e in (a, b)]
    times = [entry.published or SEEN for entry in entries]
    embed = load_e5()
    assert embed is not None

    def filed(ahead: bool) -> tuple[list[int | None], list[str], list[str]]:
        before: list[str] = []
        during: list[str] = []
        calls = [before]

        def counted(texts: Sequence[str]) -> Sequence[Sequence[float]]:
            calls[0].extend(texts)
            return embed(texts)

        window = StoryWindow(StoriesConfig(), counted, meaning=True)
        read = window.observe(rules, entries, [True] * len(entries))
        if ahead:
            window.embed_ahead(list(zip(read, times, strict=True)))
        calls[0] = during
        batch = [ToFile(n, e.url, o, t) for n, (e, o, t) in enumerate(zip(entries, read, times, strict=True), 1)]
        window.file(batch, SEEN)
        window.commit()
        return [window.index.story_of(n) for n in range(1, len(entries) + 1)], before, during

    stories, _, needed = filed(ahead=False)
    stories_ahead, embedded_ahead, embedded_filing = filed(ahead=True)
    assert len(needed) >= 10 and stories_ahead == stories
    assert len(set(needed) & set(embedded_ahead)) >= 0.8 * len(needed)
    assert len(embedded_filing) <= 0.2 * len(needed)
    assert len(embedded_ahead) <= 1.5 * len(needed)  # the likely ones, not every entry


def _stand_in(texts: Sequence[str]) -> list[list[float]]:
    """Vectors that tell the length read: the leads' meanings have a cosine of 0.82, the longer texts' 1."""
    def vector(text: str) -> list[float]:
        found = [0.0] * 384
        if len(text) > 400:
            found[2] = 1.0
        elif text.startswith("Kallas:"):
            found[0], found[1] = 0.82, (1 - 0.82**2) ** 0.5
        else:
            found[0] = 1.0
        return found

    return [vector(text) for text in texts]


def _kallas() -> tuple[Entry, Entry]:
    """An English and a German report of one event, sharing a name, with bodies longer than what is embedded
    within a language."""
    body = "Estonia's prime minister spoke in Tallinn about the coalition and the budget. " * 12
    english = Entry(feed_url="", outlet="ERR", url="https://err.ee/1", title="Kallas does not rule out troops",
                    summary=body, language="en", published=SEEN)
    other = Entry(feed_url="", outlet="Postimees", url="https://postimees.ee/2", title="Kallas: keine Garantie",
                  summary="Die Regierungschefin sprach in Tallinn über Koalition und Haushalt. " * 12, language="de",
                  published=SEEN)
    return english, other


def test_reports_in_two_languages_are_compared_on_longer_texts() -> None:
    """Across languages the meaning compared is that of the longer texts (meaning.ACROSS_CHARS); within one
    language that of the title and lead."""
    english, german = _kallas()
    assert not _joined(StoryIndex(), english, german)  # their words alone do not join them
    index = StoryIndex(ClusterConfig(meaning=True), _stand_in)
    first = index.add(1, english, at=SEEN)
    joined = index.add(2, german, at=SEEN)
    assert joined.story_id == first.story_id and joined.evidence is not None
    assert joined.evidence.meaning == pytest.approx(1.0)
    assert "meaning across languages 1.00" in joined.reason
    assert "names Tallinn" in joined.reason  # as the report writes it, not its key

    declared_german = replace(english, language="de")
    assert not _joined(StoryIndex(ClusterConfig(meaning=True), _stand_in), declared_german, german)


def test_the_texts_kept_are_kept_again_after_a_restart() -> None:
    """An entry that opened a story keeps its meaning texts (Assignment.meaning_kept, which the store records);
    restored after a restart without them, a report in another language could not be compared with it: not
    its lead, never embedded (nothing was near it when it was filed), nor its longer text. `keep_texts` keeps
    them again, and the report joins its story as it would have without the restart."""
    english, german = _kallas()
    first = StoryIndex(ClusterConfig(meaning=True), _stand_in).add(1, english, at=SEEN)
    assert first.meaning_kept and first.features is not None and first.features.vector is None
    embedded = replace(first.features, vector=array("f", _stand_in([meaning_text(english)])[0]))
    for features in (first.features, embedded):
        restored = StoryIndex(ClusterConfig(meaning=True), _stand_in)
        restored.restore(1, english.url, features, SEEN, 1)
        assert restored.add(2, german, at=SEEN).story_id != 1
        again = StoryIndex(ClusterConfig(meaning=True), _stand_in)
        again.restore(1, english.url, features, SEEN, 1)
        again.keep_texts(1, english)
        joined = again.add(2, german, at=SEEN)
        assert joined.story_id == 1 and "meaning across languages 1.00" in joined.reason
