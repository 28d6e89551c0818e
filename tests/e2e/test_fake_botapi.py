"""The fake Bot API must refuse what Telegram refuses, or the tests built on it prove nothing."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from tests.e2e.fake_botapi import FakeBotApi, FakeLimits
from tests.e2e.tg_html import ParseError, parse


@pytest.fixture
async def api() -> FakeBotApi:
    async with FakeBotApi() as server:
        yield server


@pytest.fixture
async def bot(api: FakeBotApi) -> Bot:
    async with Bot(api.token, base_url=api.base_url) as client:
        yield client


def test_html_parse_gives_text_and_entities() -> None:
    parsed = parse('<b><a href="https://x.test/a?b=1&amp;c=2">Tom &amp; Jerry</a></b> &lt;3 &#x27;q&#39;')
    assert parsed.text == "Tom & Jerry <3 'q'"
    assert {e["type"] for e in parsed.entities} == {"bold", "text_link"}
    assert [e["url"] for e in parsed.entities if e["type"] == "text_link"] == ["https://x.test/a?b=1&c=2"]


@pytest.mark.parametrize(
    "html",
    [
        "<script>x</script>",
        "<b>open",
        "<b><i>x</b></i>",
        "a & b",
        "x </b>",
        "<a href='javascript:1'>x</a>",
        '<span class="red">x</span>',
        "<pre><b>x</b></pre>",
        "&nbsp;",
        "<b",
    ],
)
def test_html_parse_refuses_what_telegram_refuses(html: str) -> None:
    with pytest.raises(ParseError):
        parse(html)


async def test_getme_and_send_records_per_chat(api: FakeBotApi, bot: Bot) -> None:
    assert bot.bot.is_bot and bot.username == "newsbot_test_bot"
    api.private_chat(7)
    sent = await bot.send_message(7, "<b>Hi</b> there", parse_mode="HTML")
    assert sent.message_id == 1 and sent.chat.id == 7
    assert [m.text for m in api.sent(7)] == ["Hi there"]
    assert api.sent(7)[0].entities == [{"type": "bold", "offset": 0, "length": 2}]


async def test_send_refusals(api: FakeBotApi, bot: Bot) -> None:
    api.private_chat(7)
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(7, "<blink>x</blink>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="too long"):
        await bot.send_message(7, "x" * 4097)
    with pytest.raises(BadRequest, match="not found"):
        await bot.send_message(8, "to nobody")
    api.block(7)
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(7, "hello")
    assert api.sent(7) == []


async def test_transient_failure_then_success(api: FakeBotApi, bot: Bot) -> None:
    api.private_chat(7)
    api.fail_next(1, status=502)
    with pytest.raises(NetworkError):
        await bot.send_message(7, "x")
    await bot.send_message(7, "x")
    assert len(api.sent(7)) == 1


async def test_rate_limits_answer_429_with_retry_after(bot: Bot, api: FakeBotApi) -> None:
    api.private_chat(7)
    for text in ("one", "two", "three"):
        await bot.send_message(7, text)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(7, "four")
    assert caught.value.retry_after >= 1
    api.group(-100, "Group", admins=set())
    for n in range(20):
        await bot.send_message(-100, f"g{n}")
    with pytest.raises(RetryAfter):
        await bot.send_message(-100, "g20")


async def test_global_limit() -> None:
    async with FakeBotApi(limits=FakeLimits(global_per_second=5)) as api, Bot(api.token, base_url=api.base_url) as bot:
        for chat in range(1, 7):
            api.private_chat(chat)
        for chat in range(1, 6):
            await bot.send_message(chat, "x")
        with pytest.raises(RetryAfter):
            await bot.send_message(6, "x")


async def test_long_polling_waits_and_honours_offset(api: FakeBotApi, bot: Bot) -> None:
    api.private_chat(7)
    poll = asyncio.create_task(bot.get_updates(timeout=5, allowed_updates=["message"]))
    await asyncio.sleep(0.2)
    assert not poll.done()
    await api.user_says(7, 7, "/start")
    updates = await poll
    assert [u.message.text for u in updates] == ["/start"]
    assert updates[0].message.entities[0].type == "bot_command"
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()


async def test_buttons_and_callback_answers(api: FakeBotApi, bot: Bot) -> None:
    api.private_chat(7)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Why?", callback_data="why:1")]])
    sent = await bot.send_message(7, "alert", reply_markup=markup)
    with pytest.raises(ValueError):
        await api.press(7, 7, sent.message_id, "other")
    await api.press(7, 7, sent.message_id, "why:1")
    (update,) = await bot.get_updates(timeout=1)
    assert update.callback_query.data == "why:1"
    await update.callback_query.answer("ok")
    with pytest.raises(BadRequest, match="query"):
        await bot.answer_callback_query(update.callback_query.id)


async def test_edit_message_text(api: FakeBotApi, bot: Bot) -> None:
    api.private_chat(7)
    sent = await bot.send_message(7, "v1")
    await bot.edit_message_text("v2", chat_id=7, message_id=sent.message_id)
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("v2", chat_id=7, message_id=sent.message_id)
    with pytest.raises(BadRequest, match="not found"):
        await bot.edit_message_text("v3", chat_id=7, message_id=99)
    assert api.sent(7)[0].text == "v2" and api.sent(7)[0].edits == ["v1"]


async def test_groups_admins_and_forum_threads(api: FakeBotApi, bot: Bot) -> None:
    api.group(-1001, "Forum", admins={5}, forum=True, creator=4)
    api.private_chat(6)
    assert (await bot.get_chat_member(-1001, 5)).status == "administrator"
    assert (await bot.get_chat_member(-1001, 4)).status == "creator"
    assert (await bot.get_chat_member(-1001, 6)).status == "member"
    with pytest.raises(BadRequest, match="thread"):
        await bot.send_message(-1001, "x", message_thread_id=3)
    await api.user_says(-1001, 5, "/subscribe x", thread_id=3)
    await bot.send_message(-1001, "x", message_thread_id=3)
    assert api.sent(-1001)[0].thread_id == 3


async def test_set_my_commands_validates(api: FakeBotApi, bot: Bot) -> None:
    await bot.set_my_commands([("start", "Start the bot")])
    assert api.commands["default"] == [{"command": "start", "description": "Start the bot"}]
    with pytest.raises(BadRequest):
        await bot.set_my_commands([("Bad-Name", "x")])


async def test_held_send_of_a_vanished_client_is_never_accepted(api: FakeBotApi, bot: Bot) -> None:
    api.private_chat(7)
    api.hold_sends()
    pending = asyncio.create_task(bot.send_message(7, "lost"))
    await api.wait_until(lambda: api.held == 1)
    pending.cancel()
    await api.wait_until(lambda: api.held == 0)
    api.release_sends()
    await bot.send_message(7, "kept")
    assert [m.text for m in api.sent(7)] == ["kept"]
