"""Issue 23 end to end: `newsbot run`, the fake Bot API in its own process and this test's feed server, talking
HTTP on 127.0.0.1. A harbour feed publishes its steady baseline (a story a day at this hour for two weeks),
then a burst; a dock feed publishes steadily throughout. The chat following both gets exactly one spike
message, about the harbour, edited while the burst grows, and none about the steady dock; a chat that sent
`/spikes off` gets none; `/trend harbour 2d` answers with a PNG chart whose bars are drawn."""

from __future__ import annotations

import asyncio
import base64
import io
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from PIL import Image

from bot import clock
from bot.trends.chart import BAR, SPIKE
from tests.app.daemon import Daemon, running_daemon
from tests.e2e.botapi_process import BotApiProcess, Sent
from tests.e2e.png import check_png
from tests.feedserver import FeedServer, Item
from tests.trends.items import harbour_items, write_rules

pytestmark = pytest.mark.e2e

TOKEN = "565656:spike-token"
FOLLOWS, SPIKES_OFF = 601, 602
DOCK = "id: dock\ntitle: Dock <works>\nquery: dock OR docks\n"


def _dock_items(prefix: str, times: list[datetime]) -> list[Item]:
    return [
        replace(item, title=item.title.replace("Harbour", "Dock"), body=item.body.replace("harbour", "docks"))
        for item in harbour_items(prefix, times)
    ]


def _config(folder: Path, api: BotApiProcess, feeds: FeedServer) -> Path:
    rules = write_rules(folder)
    (rules / "dock.yaml").write_text(DOCK)
    config = {
        "database": f"sqlite:///{folder / 'newsbot.db'}",
        "rules": str(rules),
        "feeds": [
            {"url": feeds.url("harbour.xml"), "name": "Harbour Wire", "every": "1s", "fulltext": False},
            {"url": feeds.url("dock.xml"), "name": "Dock Wire", "every": "1s", "fulltext": False},
        ],
        "polling": {"min_interval": "1s", "jitter": 0},
        "telegram": {"token": TOKEN, "base_url": api.base_url},
        # invented-word items on one template: the meaning signal cannot tell them apart, and need not here
        "stories": {"meaning": False},
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


async def _say(api: BotApiProcess, chat: int, text: str, expect: str) -> None:
    before = len(await api.sent(chat))
    await api.user_says(chat, chat, text)
    received = await api.wait_for(chat, lambda sent: len(sent) > before, f"a reply to {text}")
    assert expect in received[-1].text, received[-1].text


def _spikes(sent: list[Sent]) -> list[Sent]:
    return [message for message in sent if message.text.startswith("📈")]


async def _until(condition: object, what: str, daemon: Daemon, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def test_a_burst_is_one_spike_message_edited_as_it_grows_and_trend_draws_it(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    now = clock.now().replace(microsecond=0)
    baseline = harbour_items("base", [now - timedelta(days=day, minutes=25) for day in range(1, 15)])
    steady = [now - timedelta(minutes=30 * k + 5) for k in range(14 * 48)]
    feed_server.feeds["harbour.xml"] = baseline
    feed_server.feeds["dock.xml"] = _dock_items("dock", steady)  # a first poll in slices of 200 alerts on none
    async with BotApiProcess(TOKEN) as api:
        for chat in (FOLLOWS, SPIKES_OFF):
            await api.private_chat(chat)
        async with running_daemon(_config(tmp_path, api, feed_server)) as daemon:

            async def up() -> bool:
                return feed_server.requests.get("dock.xml", 0) >= 5 and "getupdates" in await api.calls()

            await _until(up, "the first polls and the Telegram front", daemon)
            for chat in (FOLLOWS, SPIKES_OFF):
                await _say(api, chat, "/subscribe harbour", "Subscribed to Harbour $ traffic")
            await _say(api, FOLLOWS, "/subscribe dock", "Subscribed to Dock <works>")
            await _say(api, SPIKES_OFF, "/spikes off", "No more spike messages")

            burst = harbour_items("burst", [clock.now() - timedelta(seconds=s) for s in range(6)])
            feed_server.feeds["harbour.xml"] = [*baseline, *burst]
            feed_server.feeds["dock.xml"] = [*_dock_items("dock", steady), *_dock_items("dock-now", [clock.now()])]
            first = await api.wait_for(FOLLOWS, lambda sent: bool(_spikes(sent)), "the spike message", timeout=60)
            opened = "📈 Harbour $ traffic: 6 stories in the last hour, usually 1 (6x)\n"
            assert _spikes(first)[0].text.startswith(opened)

            more = harbour_items("more", [clock.now() - timedelta(seconds=s) for s in range(3)])
            feed_server.feeds["harbour.xml"] = [*baseline, *burst, *more]
            grown = await api.wait_for(
                FOLLOWS, lambda sent: "9 stories in the last hour" in _spikes(sent)[0].text, "the edit", timeout=60
            )
            (spike,) = _spikes(grown)
            assert spike.edits and spike.edits[0].startswith("📈 Harbour $ traffic: 6 stories")
            assert "\nMost told: " in spike.text and "\nSurge since " in spike.text

            before = len(await api.sent(FOLLOWS))
            await api.user_says(FOLLOWS, FOLLOWS, "/trend harbour 2d")
            # the burst's alerts may still be on their way (paced sends): the chart need not be the last message
            answered = await api.wait_for(FOLLOWS, lambda sent: any(m.photo is not None for m in sent[before:]),
                                          "the chart", timeout=60)  # fmt: skip
            chart = next(m for m in answered[before:] if m.photo is not None)
            await asyncio.sleep(3)  # time for a second spike message or edit that must not come

        # 10 stories; the burst's hour is marked as a spike unless a clock hour split it (tests/trends/ checks marks)
        assert chart.text.startswith("Harbour $ traffic, last 2d: 10 stories")
        png = base64.b64decode(chart.photo or "")
        assert (check_png(png).width, check_png(png).height) == (800, 360)
        colours = {colour: count for count, colour in Image.open(io.BytesIO(png)).convert("RGB").getcolors(288000)}
        bars = [colours.get(tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5)), 0) for colour in (BAR, SPIKE)]
        assert sum(bars) > 600
        (spike,) = _spikes(await api.sent(FOLLOWS))
        assert "9 stories" in spike.text  # and none about the steady dock
        assert _spikes(await api.sent(SPIKES_OFF)) == []
        assert not [r for r in await api.rejections() if r[1] == 400]
