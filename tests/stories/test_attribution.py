"""Credits found in text, outlet names, and the labelled sentence set's precision and recall targets."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.attribution import load_cases, predicted
from bot.model import Entry
from bot.stories.agencies import canonical_outlet, known
from bot.stories.attribution import candidate_patterns, entry_credits, find_credits, mentions, sentences
from bot.stories.quality import set_score
from tests.conftest import SEEDS, corpus_path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("This stance was reported by RIA News and discussed.", {("RIA News", None)}),
        ("It ends here. [Source attribution: RIA News]", {("RIA News", None)}),
        ("date 2024-03-14 (MENAFN) Estonian Prime Minister Kaja Kallas declined.", {("MENAFN", None)}),
        ("MOSCOW (Reuters) - Russia said on Tuesday it would respond.", {("Reuters", None)}),
        ("APA reports citing Politico that the EU will wait.", {("Politico", "APA")}),
        ("The deal is off, according to the Associated Press.", {("AP", None)}),
        ("Russian state news agency RIA Novosti reported that the drone fell.", {("RIA News", None)}),
        ("The strike was first reported by local outlet Delfi.", {("Delfi", None)}),
        ("Reuters and AFP reported the explosion.", {("Reuters", None), ("AFP", None)}),
        ("ТАСС сообщает со ссылкой на Bloomberg, что сделка сорвалась.", {("Bloomberg", "TASS")}),
        ("Wie die Nachrichtenagentur dpa meldete, wurde der Zug gestoppt.", {("dpa", None)}),
        ("Selon l'AFP, le bilan s'élève à douze morts.", {("AFP", None)}),
        ("According to Kallas, such assurances would be inappropriate.", set()),
        ("According to NATO, the exercise will involve 90,000 troops.", set()),
        ("Zelensky told the parliament that the front line was holding.", set()),
        ("(AP Photo/Evan Vucci) The president speaks.", set()),
    ],
)
def test_credits_in_sentence(text: str, expected: set[tuple[str, str | None]]) -> None:
    assert {(c.source, c.via) for c in find_credits(text)} == expected


def test_credit_keeps_its_sentence_as_evidence() -> None:
    (credit,) = find_credits("Kallas spoke. This stance was reported by RIA News and discussed. More follows.")
    assert credit.evidence == "This stance was reported by RIA News and discussed."


def test_long_text_with_many_capitalised_words_is_handled() -> None:
    text = "According To The Very Long Name Of Something " * 400 + "MOSCOW (Reuters) - End."
    assert [(c.source, c.via) for c in find_credits(text)] == [("Reuters", None)]


def test_both_seed_articles_credit_their_sources() -> None:
    rewrite, menafn = (path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt")))
    assert {c.source for c in find_credits(rewrite)} == {"RIA News"}
    assert {c.source for c in find_credits(menafn)} == {"MENAFN"}


def test_entry_credits_read_title_and_body() -> None:
    entry = Entry(feed_url="f", outlet="Yahoo", url="https://news.yahoo.com/x", title="Quake kills nine",
                  summary="TAIPEI (Reuters) - A strong earthquake struck Taiwan.")
    assert [c.source for c in entry_credits(entry)] == ["Reuters"]


@pytest.mark.parametrize(
    ("outlet", "url", "expected"),
    [
        ("MENAFN - Middle East North Africa Financial Network", "https://menafn.com/1/x", "MENAFN"),
        ("", "https://www.reuters.com/world/x", "Reuters"),
        ("The Associated Press", "", "AP"),
        ("Canada News Today", "https://canadanewstoday.example/x", "Canada News Today"),
        ("", "https://unknown.example/x", "unknown.example"),
        ("World headlines", "https://menafn.com/1108000001/x", "MENAFN"),
    ],
)
def test_canonical_outlet_uses_table_names(outlet: str, url: str, expected: str) -> None:
    assert canonical_outlet(outlet, url) == expected


def test_known_is_blind_to_case_articles_and_possessives() -> None:
    assert known("the Associated Press's") == "AP"
    assert known("ria novosti") == "RIA News"
    assert known("Kallas") is None


def test_labelled_sentences_meet_the_targets() -> None:
    cases = load_cases()
    assert len([c for c in cases if c.lang == "en"]) >= 60
    assert len({c.lang for c in cases}) >= 3
    score = set_score((predicted(c.text) for c in cases), (c.expected for c in cases))
    assert score.precision >= 0.95
    assert score.recall >= 0.90


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([*"aAbBrR ().,-:[]\n", "Reuters", "reported by ", "citing ", "(AFP)", "Kallas"])))
def test_any_text_gives_credits_named_in_it(pieces: list[str]) -> None:
    text = "".join(pieces)
    for credit in find_credits(text):
        assert credit.evidence and credit.evidence in " ".join(text.split())
        assert credit.source != credit.via


def _corpus_texts() -> list[str]:
    """Titles and bodies of every feed item in the corpus, the fundus article extractions and the seeds."""
    from bot.parse.feed import FeedParseError, parse_feed

    texts = [path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))]
    for path in sorted(corpus_path("feeds").rglob("*")):
        if not path.is_file():
            continue
        try:
            parsed = parse_feed(path.read_bytes(), feed_url=path.resolve().as_uri(), name=path.stem)
        except FeedParseError:
            continue
        texts += [f"{entry.title}\n{entry.body}" for entry in parsed.entries]
    texts += [path.read_text(encoding="utf-8") for path in sorted(corpus_path("pages").rglob("*.json"))]
    return texts


def test_trigger_filter_finds_exactly_what_every_pattern_finds_over_the_whole_corpus() -> None:
    """The pre-filter is exact: searching only the patterns whose trigger words a sentence holds finds the
    same mentions as searching every pattern, on every sentence of the corpus (~74,000)."""
    searched = skipped = 0
    for text in _corpus_texts():
        for _, sentence in sentences(text):
            patterns = candidate_patterns(sentence)
            skipped += not patterns
            searched += 1
            assert mentions(sentence, patterns) == mentions(sentence), sentence[:200]
    assert searched > 50_000 and skipped > searched * 0.7


@given(st.lists(st.sampled_from([
    "reported by", "REPORTED", "Reuters", "the news agency", "İnterview", "cıtıng", "(", ")", "AFP", "said", "by",
    "according to", "ſource:", "zufolge", "laut", "сообщает", "TASS", "A", "Ab", " ", ",", "-", "\u00a0", ".",
]), max_size=30))
@settings(max_examples=300, deadline=None)
def test_trigger_filter_is_exact_on_generated_sentences(parts: list[str]) -> None:
    sentence = " ".join(parts)
    assert mentions(sentence, candidate_patterns(sentence)) == mentions(sentence)


@pytest.mark.parametrize(
    "make",
    [
        lambda n: "A" * n,
        lambda n: "reported by " + "A " * (n // 2),
        lambda n: "zufolge " + "a" * n,
        lambda n: "according to the " + "Ab " * (n // 3),
        lambda n: "(" + "A" * n + ")",
    ],
    ids=["capitals", "reported-by-words", "zufolge-letters", "according-words", "dateline-run"],
)
def test_finding_credits_costs_time_linear_in_the_text(make: Callable[[int], str]) -> None:
    """Hostile runs of capitals or letters: 4x the text costs about 4x the time (quadratic would be 16x)."""
    def cost(n: int) -> float:
        text = make(n)
        started = time.perf_counter()
        find_credits(text)
        return time.perf_counter() - started

    small, large = min(cost(4_000) for _ in range(3)), min(cost(16_000) for _ in range(3))
    assert large < 8 * small + 0.05
    assert large < 5.0
