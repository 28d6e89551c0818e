"""/trend and /spikes through python-telegram-bot and the strict fake Bot API (sendPhoto takes only a valid
PNG): the chart is a real PNG with its bars and spike drawn, captions are escaped, a topic without stories
says so, and a chat turns spike messages off and on."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from bot import clock
from bot.chat.access import NOT_CHAT_ADMIN
from bot.rulebook.book import RuleBook
from bot.store.chats import chat_settings
from bot.trends.chart import BAR, SPIKE
from tests.chat.test_handlers import Front, _front
from tests.trends.items import store_stories

TITLE = "Harbour $ <b>traffic</b> & co"


@pytest.fixture
async def front(tmp_path: Path) -> AsyncIterator[Front]:
    async for made in _front(tmp_path, allowed_chats=[]):
        (tmp_path / "rules" / "harbour.yaml").write_text(f"id: harbour\ntitle: '{TITLE}'\nquery: harbour\n")
        made.runtime.rulebook = RuleBook.load(tmp_path / "rules")
        yield made


def _pixels(png: bytes, colour: str) -> int:
    wanted = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(count for count, found in image.getcolors(800 * 360) or [] if found == wanted)


async def _photo(front: Front, chat: int, command: str) -> tuple[bytes, str]:
    before = len(front.api.sent(chat))
    await front.api.user_says(chat, chat, command)
    await front.api.wait_until(lambda: len(front.api.sent(chat)) > before, timeout=20)
    message = front.api.sent(chat)[-1]
    assert message.photo is not None, message.text
    return message.photo, message.text


@pytest.mark.parametrize("after_midnight", [None, timedelta(minutes=5)], ids=["now", "just after midnight"])
async def test_trend_of_a_topic_is_a_png_with_its_bars_baseline_and_spike(
    front: Front, after_midnight: timedelta | None
) -> None:
    if after_midnight is None:
        await _trend_of_a_topic(front)
        return
    started = clock.system_now()
    today = started.replace(hour=0, minute=0, second=0, microsecond=0) + after_midnight
    with clock.using(lambda: today + (clock.system_now() - started)):
        await _trend_of_a_topic(front)


async def _trend_of_a_topic(front: Front) -> None:
    now = clock.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    # One a day at the start of this hour: the last 13 of them are within the 14 days shown per day (today so far
    # and the 13 before) whatever the time of day; 20 minutes before now fell out of them in the first 20
    # minutes after midnight.
    hours = [hour - timedelta(days=day) for day in range(1, 15)]
    burst = [hour + (now - hour) * k / 9 for k in range(1, 9)]  # eight in this clock hour so far
    await store_stories(front.runtime.engine, "harbour", [*hours, *burst])
    front.api.private_chat(1)
    png, caption = await _photo(front, 1, "/trend harbour 2d")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (800, 360)
    assert _pixels(png, BAR) > 500 and _pixels(png, SPIKE) > 500  # bars drawn, the last hour's in red
    assert caption == f"{TITLE}, last 2d: 9 stories, 1 spike"  # the caption's HTML escaped the title's
    daily, caption = await _photo(front, 1, "/trend Harbour $ <b>traffic</b> & co")  # by title; 14 days per day
    assert caption == f"{TITLE}, last 14d: 21 stories, 1 spike" and _pixels(daily, BAR) > 500


async def test_trend_without_a_topic_draws_the_chats_topics_on_one_chart(front: Front) -> None:
    now = clock.now()
    await store_stories(front.runtime.engine, "harbour", [now - timedelta(hours=h) for h in range(1, 30, 3)])
    await store_stories(front.runtime.engine, "estonia", [now - timedelta(hours=h) for h in range(2, 40, 5)], 1)
    front.api.private_chat(2)
    assert "follows no topics yet" in await front.say(2, 2, "/trend")
    await front.say(2, 2, "/subscribe estonia")
    await front.say(2, 2, "/subscribe harbour")
    png, caption = await _photo(front, 2, "/trend 3d")
    assert caption == f"This chat's topics, last 3d: Estonia: 8 stories; {TITLE}: 10 stories"
    assert Image.open(io.BytesIO(png)).size == (800, 360)


async def test_trend_says_so_for_no_stories_a_bad_period_and_an_unknown_topic(front: Front) -> None:
    front.api.private_chat(3)
    reply = await front.say(3, 3, "/trend troop-deployment")
    assert reply == "No stories of Troop deployment in the last 14d: nothing to draw."
    assert (await front.say(3, 3, "/trend estonia 400d")).startswith("Usage: /trend [topic] [period]")
    assert "No topic called" in await front.say(3, 3, "/trend harbor 2d")
    assert not [call for call, _ in front.api.calls if call == "sendphoto"]


async def test_spikes_off_and_on(front: Front) -> None:
    front.api.private_chat(4)
    assert "Spike messages are on" in await front.say(4, 4, "/spikes")
    assert "No more spike messages" in await front.say(4, 4, "/spikes off")
    settings = await chat_settings(front.runtime.engine, 4, clock.now())
    assert settings is not None and not settings.spikes
    assert "Spike messages are off" in await front.say(4, 4, "/spikes")
    assert "one message when a topic it follows suddenly grows" in await front.say(4, 4, "/spikes on")
    front.api.group(-300, "Desk", admins={5})
    assert await front.say(-300, 6, "/spikes off") == NOT_CHAT_ADMIN
