"""Story messages: what they show, and that no feed text can break Telegram's HTML or its length cap."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.deliver.format import (
    MAX_MESSAGE,
    Rendered,
    clip,
    headline_of,
    render_story,
    render_summary,
    render_why,
    topics_line,
    utf16_len,
)
from bot.model import Alert, ClauseHit, Credit, Entry, Match, Span, Story, StoryMember
from tests.e2e.tg_html import parse

BODY = "Kallas refused to rule out sending Estonian troops to Ukraine, the minister said on Monday."


def _alert(
    title: str = "Kallas: troops to Ukraine?",
    body: str = BODY,
    outlet: str = "MENAFN",
    url: str = "https://menafn.test/a?x=1&y=2",
    story: Story | None = None,
) -> Alert:
    spans = tuple(Span("body", body.find(w), body.find(w) + len(w), w) for w in ("sending", "troops") if w in body)
    match = Match("troop-deployment", "Troop deployment", (ClauseHit("troops NEAR/12 send*", spans),))
    entry = Entry(
        "https://feed.test/rss", outlet, url, title, summary=body, published=datetime(2026, 11, 22, 14, 5, tzinfo=UTC)
    )
    return Alert("troop-deployment", "Troop deployment", entry, match, id=1, story=story)


def render_alert(alert: Alert) -> Rendered:
    return render_story(alert.story, [alert])


def _story(outlets: list[str], breaking: bool = False) -> Story:
    members = tuple(
        StoryMember(i, o, f"Title {i}", f"https://{i}.test/", None, (Credit("RIA News", "reported by RIA News"),))
        for i, o in enumerate(outlets)
    )
    return Story(1, "Story", members, origin="RIA News", breaking=breaking)


def _entity_texts(html: str, kind: str) -> list[str]:
    parsed = parse(html)
    return [parsed.text[e["offset"] : e["offset"] + e["length"]] for e in parsed.entities if e["type"] == kind]


def test_alert_shows_linked_bold_title_outlet_time_topic_and_marked_words() -> None:
    rendered = render_alert(_alert())
    parsed = parse(rendered.html)
    assert "MENAFN · 2026-11-22 14:05 UTC" in parsed.text
    assert "Topic: Troop deployment" in parsed.text
    links = [e for e in parsed.entities if e["type"] == "text_link"]
    assert [e["url"] for e in links] == ["https://menafn.test/a?x=1&y=2"]
    assert _entity_texts(rendered.html, "bold") == ["Kallas: troops to Ukraine?", "sending", "troops"]
    assert rendered.plain.splitlines()[:2] == ["Kallas: troops to Ukraine?", "https://menafn.test/a?x=1&y=2"]


def test_story_line_and_breaking_marker() -> None:
    rendered = render_alert(_alert(story=_story(["MENAFN", "X", "Y"], breaking=True)))
    text = parse(rendered.html).text
    assert text.startswith("🔴 BREAKING\n")
    assert "3 outlets: MENAFN, X, Y; originally RIA News" in text
    single = parse(render_alert(_alert(story=_story(["MENAFN"]))).html).text
    assert "outlets" not in single and "BREAKING" not in single


def test_feed_markup_is_shown_as_text_not_obeyed() -> None:
    nasty = '<b>bold</b> & <a href="javascript:x">click</a> &amp; </i>'
    rendered = render_alert(_alert(title=nasty, outlet=nasty, body=nasty + " troops sending"))
    parsed = parse(rendered.html)
    assert parsed.text.count(nasty) == 3
    assert not [e for e in parsed.entities if e.get("url", "").startswith("javascript")]


def test_non_http_link_is_not_linked() -> None:
    html = render_alert(_alert(url="file:///etc/passwd")).html
    assert "<a " not in html


@settings(max_examples=150, deadline=None)
@given(
    title=st.text(max_size=6000),
    outlet=st.text(max_size=3000),
    body=st.text(max_size=8000),
    outlets=st.lists(st.text(min_size=1, max_size=500), max_size=40),
)
def test_any_feed_text_gives_valid_html_within_the_limit(
    title: str, outlet: str, body: str, outlets: list[str]
) -> None:
    alert = _alert(title=title, outlet=outlet, body=body, story=_story(outlets) if outlets else None)
    for rendered in (
        render_alert(alert),
        render_summary("Digest " + title, [headline_of([alert])] * 60),
        render_why(alert.story, [alert]),
    ):
        assert utf16_len(parse(rendered.html).text) <= MAX_MESSAGE
        assert utf16_len(rendered.plain) <= MAX_MESSAGE


def test_summary_lists_alerts_and_counts_the_rest() -> None:
    alerts = [_alert(title=f"Item {n} " + "x" * 150) for n in range(100)]
    rendered = render_summary("100 new alerts", [headline_of([a]) for a in alerts])
    text = parse(rendered.html).text
    assert text.startswith("100 new alerts\n• Item 0 ")
    shown = text.count("• Item ")
    assert 5 < shown < 100 and text.endswith(f"… and {100 - shown} more")


def test_why_names_rule_clauses_words_and_story_members() -> None:
    alert = _alert(story=_story(["MENAFN", "X"]))
    text = parse(render_why(alert.story, [alert]).html).text
    assert "Why: Troop deployment" in text and "Troop deployment (rule troop-deployment)" in text
    assert "troops NEAR/12 send*: sending (body), troops (body)" in text
    assert "X: Title 1 (credits RIA News)" in text and "originally RIA News" in text


def _topic(rule: str, title: str, word: str, entry: Entry) -> Alert:
    start = entry.summary.find(word)
    match = Match(rule, title, (ClauseHit(f"@{rule}", (Span("body", start, start + len(word), word),)),))
    return Alert(rule, title, entry, match, id=2)


def test_one_message_names_every_topic_and_marks_each_topics_words() -> None:
    troops = _alert(story=_story(["MENAFN", "X"]))
    kallas = _topic("kaja-kallas", "Kaja Kallas", "Kallas", troops.entry)
    elsewhere = Entry("https://feed.test/x", "X", "https://x.test/1", "Estonia weighs troop request", summary="Estonia")
    estonia = _topic("estonia", "Estonia", "Estonia", elsewhere)
    rendered = render_story(troops.story, [troops, kallas, estonia])
    text = parse(rendered.html).text
    assert "\nTopics: Troop deployment, Kaja Kallas, Estonia\n" in text and "Topic:" not in text
    assert _entity_texts(rendered.html, "bold")[1:] == ["Kallas", "sending", "troops"]
    why = parse(render_why(troops.story, [troops, kallas, estonia]).html).text
    assert why.startswith("Why: Troop deployment, Kaja Kallas, Estonia\n")
    assert "Kaja Kallas (rule kaja-kallas)\n• @kaja-kallas: Kallas (body)" in why
    assert "Estonia (rule estonia) in X: Estonia weighs troop request\n• @estonia: Estonia (body)" in why
    assert "• MENAFN: Title 0" in why and "• X: Title 1" in why
    line = headline_of([troops, kallas, estonia])
    assert (line.title, line.topic) == ("Kallas: troops to Ukraine?", "Troop deployment, Kaja Kallas, Estonia")


def test_topics_line_reads_singular_for_one_topic() -> None:
    assert topics_line(["Estonia"]) == "Topic: Estonia"
    assert topics_line(["Estonia", "Kaja Kallas"]) == "Topics: Estonia, Kaja Kallas"
    assert utf16_len(topics_line(["x" * 300] * 50)) < 450


def test_clip_counts_utf16_units() -> None:
    assert clip("😀" * 10, 5) == "😀😀…"
    assert clip("short", 5) == "short"


def _spoken(outlets: list[tuple[str, str]], origin: str = "RIA News", origin_language: str | None = "ru") -> Story:
    members = tuple(
        StoryMember(i, o, f"Title {i}", f"https://{i}.test/", None, language=lang, joined="words 0.40" if i else "")
        for i, (o, lang) in enumerate(outlets)
    )
    return Story(1, "Story", members, origin=origin, origin_language=origin_language)


def test_a_story_in_several_languages_names_them_and_the_origins() -> None:
    story = _spoken([("RIA News", "ru"), ("MENAFN", "en"), ("Rewrite Desk", "en"), ("Der Standard", "de")])
    text = parse(render_alert(_alert(story=story)).html).text
    assert (
        "4 outlets in 3 languages: RIA News (ru), MENAFN (en), Rewrite Desk (en), Der Standard (de); "
        "originally RIA News (ru)"
    ) in text


def test_a_story_in_one_language_does_not_count_languages() -> None:
    text = parse(render_alert(_alert(story=_spoken([("MENAFN", "en"), ("X", "en")]))).html).text
    assert "2 outlets: MENAFN, X; originally RIA News" in text and "language" not in text and "(en)" not in text


def test_why_says_what_joined_each_member() -> None:
    story = _spoken([("RIA News", "ru"), ("MENAFN", "en")])
    text = parse(render_why(story, []).html).text
    assert "RIA News [ru]: Title 0" in text and "opened the story" in text
    assert "MENAFN [en]: Title 1" in text and "joined by words 0.40" in text
    older = parse(render_why(_story(["MENAFN", "X"]), []).html).text
    assert "joined by" not in older and "opened" not in older  # filed before reasons were kept
