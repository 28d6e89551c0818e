"""A story as users see it: its members in order of publication, its outlets, origin and breaking flag."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta

from bot.config import StoriesConfig
from bot.model import StoredEntry, Story, StoryMember
from bot.stories.agencies import HOME_LANGUAGES, canonical_outlet
from bot.stories.breaking import is_breaking


def member_of(stored: StoredEntry) -> StoryMember:
    """The story member for a stored entry: its outlet as alerts name it (`outlet_name`), and the credits found
    in its text when it was stored."""
    entry = stored.entry
    return StoryMember(
        entry_id=stored.id,
        outlet=entry.outlet,
        title=entry.title,
        url=entry.url,
        published=entry.published,
        credits=stored.credits,
        language=stored.language,
        joined=stored.joined,
    )


def in_publication_order(members: Iterable[StoryMember]) -> tuple[StoryMember, ...]:
    """Oldest first; undated members after dated ones, by entry id (the order they were stored)."""
    dated = sorted((m for m in members if m.published is not None), key=lambda m: (m.published, m.entry_id))
    undated = sorted((m for m in members if m.published is None), key=lambda m: m.entry_id)
    return (*dated, *undated)


def story_outlets(members: Iterable[StoryMember]) -> tuple[str, ...]:
    """Distinct outlets in order of first publication."""
    return tuple(dict.fromkeys(m.outlet for m in in_publication_order(members)))


def story_origin(members: Sequence[StoryMember]) -> str:
    """Who first reported the event: the outside source credited by most members, else the earliest outlet.

    A member's credit to its own outlet (MENAFN's "(MENAFN)" dateline on a feed called "MENAFN - Latest
    News", or on any feed linking to menafn.com) says nothing about where the news came from, so it does not
    count. Among sources credited equally often, one that a
    member says "reported" the news beats one named only in datelines (the distributor of a text),
    and then the one credited by the earliest member wins.
    """
    if not members:
        raise ValueError("a story has at least one member")
    ordered = in_publication_order(members)
    votes: dict[str, set[int]] = {}
    reported: set[str] = set()
    first_credit: dict[str, int] = {}
    for rank, member in enumerate(ordered):
        for credit in member.credits:
            if credit.source != canonical_outlet(member.outlet, member.url):
                votes.setdefault(credit.source, set()).add(member.entry_id)
                first_credit.setdefault(credit.source, rank)
                if not credit.dateline:
                    reported.add(credit.source)
    if not votes:
        return ordered[0].outlet
    return min(votes, key=lambda source: (-len(votes[source]), source not in reported, first_credit[source]))


def origin_language(members: Sequence[StoryMember], origin: str) -> str | None:
    """The language the origin wrote in: its own member's, else the one it publishes in (agencies.py)."""
    for member in members:
        if member.language and origin in (member.outlet, canonical_outlet(member.outlet, member.url)):
            return member.language
    return HOME_LANGUAGES.get(origin)


def assemble(
    story_id: int,
    members: Iterable[StoryMember],
    *,
    breaking_outlets: int = 3,
    breaking_within: timedelta = timedelta(minutes=60),
) -> Story:
    """The Story for alerts and `newsbot stories`: titled after its first member."""
    ordered = in_publication_order(members)
    if not ordered:
        raise ValueError(f"story {story_id} has no members")
    origin = story_origin(ordered)
    return Story(
        id=story_id,
        title=ordered[0].title,
        members=ordered,
        origin=origin,
        breaking=is_breaking(ordered, breaking_outlets, breaking_within),
        origin_language=origin_language(ordered, origin),
    )


def story_of(story_id: int, members: Sequence[StoredEntry], settings: StoriesConfig) -> Story:
    """The Story of stored members, with the breaking rule of `settings`."""
    return assemble(
        story_id,
        [member_of(member) for member in members],
        breaking_outlets=settings.breaking_outlets,
        breaking_within=settings.breaking_within,
    )
