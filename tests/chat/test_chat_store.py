"""Subscriptions, mutes, digest mode and deactivation, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot import clock
from bot.store.chats import (
    ALL_TOPICS,
    chat_settings,
    deactivate,
    digest_chats,
    followers,
    mute,
    remember_chat,
    set_digest,
    subscribe,
    subscriptions_of,
    unmute,
    unsubscribe,
)


async def _subscribers(engine: AsyncEngine, rule: str) -> list[int]:
    """The chats following `rule` now and not muted for it."""
    async with engine.connect() as conn:
        return [f.chat_id for f in await followers(conn, [rule], clock.now()) if not f.muted]


async def test_subscribe_is_idempotent_and_follows_the_thread(engine: AsyncEngine) -> None:
    await remember_chat(engine, -100, "supergroup", "Forum")
    assert await subscribe(engine, -100, "kallas", 7, user_id=1)
    assert not await subscribe(engine, -100, "kallas", 9, user_id=1)
    assert [(s.rule_id, s.thread_id) for s in await subscriptions_of(engine, -100)] == [("kallas", 9)]
    async with engine.connect() as conn:
        (sub,) = await followers(conn, ["kallas"], clock.now())
    assert (sub.chat_id, sub.rule_id, sub.thread_id, sub.digest, sub.muted) == (-100, "kallas", 9, "off", False)
    assert await unsubscribe(engine, -100, "kallas")
    assert not await unsubscribe(engine, -100, "kallas")
    assert await _subscribers(engine, "kallas") == []


async def test_mutes_expire_and_all_mutes_everything(engine: AsyncEngine) -> None:
    await remember_chat(engine, 1, "private", None)
    await subscribe(engine, 1, "kallas", None, user_id=1)
    await subscribe(engine, 1, "estonia", None, user_id=1)
    await mute(engine, 1, "kallas", clock.now() + timedelta(hours=2))
    assert await _subscribers(engine, "kallas") == []
    assert await _subscribers(engine, "estonia") == [1]
    await mute(engine, 1, ALL_TOPICS, clock.now() + timedelta(days=1))
    assert await _subscribers(engine, "estonia") == []
    assert await unmute(engine, 1) == 2
    assert await _subscribers(engine, "kallas") == [1]
    await mute(engine, 1, "kallas", clock.now() - timedelta(seconds=1))
    assert await _subscribers(engine, "kallas") == [1]


async def test_blocked_chat_stops_until_it_comes_back(engine: AsyncEngine) -> None:
    await remember_chat(engine, 1, "private", None)
    await subscribe(engine, 1, "kallas", None, user_id=1)
    assert await deactivate(engine, 1)
    assert not await deactivate(engine, 1)
    assert await _subscribers(engine, "kallas") == []
    await remember_chat(engine, 1, "private", None)
    assert await _subscribers(engine, "kallas") == [1]


async def test_digest_mode_is_kept(engine: AsyncEngine) -> None:
    await remember_chat(engine, 1, "private", None)
    await remember_chat(engine, 2, "private", None)
    await set_digest(engine, 1, "hourly")
    assert [(c.chat_id, c.digest) for c in await digest_chats(engine)] == [(1, "hourly")]
    settings = await chat_settings(engine, 1, clock.now())
    assert settings is not None and settings.digest == "hourly" and settings.digest_sent_at is not None
    assert await chat_settings(engine, 3, clock.now()) is None


async def test_followers_come_by_chat_in_subscription_order_with_their_mutes(engine: AsyncEngine) -> None:
    for chat in (2, 1):
        await remember_chat(engine, chat, "private", None)
        for rule in ("troops", "kallas", "estonia"):
            await subscribe(engine, chat, rule, None, user_id=chat)
    await subscribe(engine, 1, "sanctions", None, user_id=1)
    await mute(engine, 2, "kallas", clock.now() + timedelta(hours=1))
    async with engine.connect() as conn:
        found = await followers(conn, ["estonia", "kallas", "troops"], clock.now())
        assert await followers(conn, [], clock.now()) == []
    assert [(f.chat_id, f.rule_id, f.muted) for f in found] == [
        (1, "troops", False), (1, "kallas", False), (1, "estonia", False),
        (2, "troops", False), (2, "kallas", True), (2, "estonia", False),
    ]  # fmt: skip
