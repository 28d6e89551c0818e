"""Story members, outlets in order of publication, origin and breaking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.model import Credit, Entry, StoredEntry, StoryMember
from bot.stories.attribution import entry_credits, find_credits
from bot.stories.breaking import first_seen, is_breaking
from bot.stories.story import assemble, member_of, story_origin, story_outlets
from tests.conftest import SEEDS

T0 = datetime(2024, 3, 14, 8, 0, tzinfo=UTC)


def _member(entry_id: int, outlet: str, minutes: float | None, *credits: Credit) -> StoryMember:
    published = None if minutes is None else T0 + timedelta(minutes=minutes)
    return StoryMember(entry_id, outlet, f"title {entry_id}", f"https://x.example/{entry_id}", published, credits)


def _stored(entry_id: int, entry: Entry) -> StoryMember:
    """The member of an entry stored with the credits found in its text, as the ingest stores it."""
    return member_of(StoredEntry(entry_id, 1, entry, entry_credits(entry)))


def _credit(source: str, via: str | None = None) -> Credit:
    return Credit(source=source, evidence=f"reported by {source}", via=via)


def test_seed_story_names_ria_news_as_origin_and_lists_both_outlets() -> None:
    rewrite, menafn = (p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt")))
    title, _, body = rewrite.partition("\n")
    first = Entry(feed_url="f1", outlet="menafn.com", url="https://menafn.com/1", title="Estonian PM refuses",
                  content=menafn, published=T0)
    second = Entry(feed_url="f2", outlet="Canada News Today", url="https://cnt.example/2", title=title,
                   content=body, published=T0 + timedelta(minutes=7))
    story = assemble(1, [_stored(2, second), _stored(1, first)])
    assert story.outlets == ("menafn.com", "Canada News Today")
    assert story.origin == "RIA News"
    assert story.title == "Estonian PM refuses"
    assert not story.breaking


def test_seed_origin_does_not_depend_on_what_the_feeds_are_called() -> None:
    rewrite, menafn = (p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt")))
    first = Entry(feed_url="f1", outlet="Feed A", url="http://127.0.0.1:8080/a/1", title="Estonian PM",
                  content=menafn, published=T0)
    second = Entry(feed_url="f2", outlet="Feed B", url="http://127.0.0.1:8080/b/2", title="Estonia's Leader",
                   content=rewrite, published=T0 + timedelta(minutes=3))
    story = assemble(7, [_stored(1, first), _stored(2, second)])
    assert story.outlets == ("Feed A", "Feed B")
    assert story.origin == "RIA News"


def test_members_keep_the_outlet_name_alerts_use() -> None:
    """A feed called "BBC World" is "BBC World" in story lines too (the table's "BBC" is only for credits)."""
    entry = Entry(feed_url="f", outlet="BBC World", url="https://www.bbc.com/news/articles/c1", title="Talks resume",
                  summary="GENEVA (BBC) - Talks resumed.", published=T0)
    other = Entry(feed_url="g", outlet="Dawn", url="https://dawn.example/1", title="Talks resume",
                  summary="Talks resumed, the BBC reported.", published=T0 + timedelta(minutes=5))
    story = assemble(1, [_stored(1, entry), _stored(2, other)])
    assert story.outlets == ("BBC World", "Dawn")
    assert story.origin == "BBC"


def test_a_credit_to_the_members_own_outlet_is_no_origin() -> None:
    """MENAFN's own "(MENAFN)" dateline says nothing about who first reported, whatever its feed is called."""
    member = StoryMember(1, "MENAFN - Latest News", "t", "https://menafn.com/1", T0,
                         (Credit("MENAFN", "(MENAFN) ...", dateline=True),))
    assert story_origin([member]) == "MENAFN - Latest News"


def test_dateline_credits_are_marked() -> None:
    (dateline,) = find_credits("MOSCOW (Reuters) - Russia said it would respond.")
    (reported,) = find_credits("The move was reported by Reuters.")
    assert dateline.dateline and not reported.dateline


def test_origin_is_the_earliest_outlet_without_outside_credits() -> None:
    members = [_member(2, "ERR", 30), _member(1, "LRT", 10, _credit("LRT"))]
    assert story_origin(members) == "LRT"


def test_origin_prefers_the_source_most_members_credit() -> None:
    members = [
        _member(1, "Yahoo", 0, _credit("AFP")),
        _member(2, "MSN", 5, _credit("Reuters")),
        _member(3, "Daily", 9, _credit("Reuters")),
    ]
    assert story_origin(members) == "Reuters"


def test_origin_of_two_hop_credit_is_the_cited_source() -> None:
    assert story_origin([_member(1, "Vienna Daily", 0, _credit("Politico", via="APA"))]) == "Politico"


def test_outlets_follow_first_publication_with_undated_last() -> None:
    members = [_member(3, "C", None), _member(2, "B", 20), _member(1, "A", 40), _member(4, "B", 50)]
    assert story_outlets(members) == ("B", "A", "C")


def test_a_story_needs_members() -> None:
    with pytest.raises(ValueError, match="member"):
        story_origin([])


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        ([0, 20, 59], True),
        ([0, 20, 61], False),
        ([0, 90, 100, 149], True),
        ([0, 10], False),
    ],
)
def test_breaking_needs_three_outlets_within_an_hour(minutes: list[int], expected: bool) -> None:
    members = [_member(i, f"outlet {i}", m) for i, m in enumerate(minutes)]
    assert is_breaking(members) is expected


def test_breaking_counts_each_outlet_once_at_its_first_article() -> None:
    same_outlet = [_member(1, "A", 0), _member(2, "A", 5), _member(3, "B", 10), _member(4, "A", 15)]
    assert not is_breaking(same_outlet)
    assert first_seen(same_outlet) == [T0, T0 + timedelta(minutes=10)]
    assert is_breaking(same_outlet, outlets=2, within=timedelta(minutes=10))


def test_the_origins_language_is_its_members_else_the_one_it_publishes_in() -> None:
    ria = StoryMember(1, "РИА Новости", "Каллас отказалась", "https://ria.ru/20240313/a.html", None, language="ru")
    menafn = StoryMember(2, "MENAFN", "Estonian PM refuses", "https://menafn.com/1", None, language="en")
    assert assemble(1, [ria, menafn]).origin_language == "ru"
    credited = StoryMember(
        3, "Rewrite Desk", "Estonia's Leader", "https://rewrite.example/a", None,
        (Credit("RIA News", "reported by RIA News"),), language="en",
    )  # fmt: skip
    story = assemble(3, [credited, menafn])
    assert story.origin == "RIA News" and story.origin_language == "ru"
    assert story.languages == ("en",)
