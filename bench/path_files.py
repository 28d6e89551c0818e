"""Which of newsbot's files one entry crosses on its way from a poll to a sent Telegram message.

Runs the real daemon in this process (`run_daemon` on SQLite, one feed on 127.0.0.1, the strict fake Bot API
of tests/e2e with one subscriber), publishes one matching entry, and watches the stage functions every
version of newsbot has: the poll, the parse, the matcher, the story index, the alert policy, the per-chat
message policy, the rendering, the outbox and the Bot API call. At each it records the newsbot modules on
the call stack (the awaiting coroutines, or the thread the work was handed to). Their union is what a
reader follows to see one entry become a message. Worker processes (the parse) are not seen inside.

    .venv/bin/python bench/path_files.py                 # this tree
    .venv/bin/python bench/path_files.py --tree DIR      # another checkout of newsbot (the baseline)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from types import FrameType
from typing import Any

HERE = Path(__file__).resolve().parents[1]

STAGES = {
    "poll_feed": "poll",
    "ParsePool.run": "parse",
    "Matcher.match": "match",
    "StoryIndex.file": "story",
    "decide": "alert policy",
    "plan_message": "message policy",
    "render_story": "rendering",
    "enqueue": "outbox",
    "TelegramSender._call": "send",
}
TOKEN = "424242:PATH-token"
READER = 5101


class Watch:
    """A profile hook recording, per stage, the newsbot modules on the stack when its function is called."""

    def __init__(self, tree: Path) -> None:
        self.bot = str(tree / "bot") + "/"
        self.active = False
        self.stacks: dict[str, set[str]] = defaultdict(set)

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "call" or not self.active:
            return
        code = frame.f_code
        stage = STAGES.get(code.co_qualname)
        if stage is None or not code.co_filename.startswith(self.bot):
            return
        seen = self.stacks[stage]
        walking: FrameType | None = frame
        while walking is not None:
            name = walking.f_code.co_filename
            if name.startswith(self.bot):
                seen.add(name[len(self.bot) - 4 :])
            walking = walking.f_back


async def run(tree: Path, watch: Watch) -> None:
    from aiohttp import web

    from bot.app import delivery
    from bot.config import Config, FeedConfig, PollingConfig, TelegramConfig
    from bot.daemon import run_daemon
    from bot.starter import RULES
    from tests.e2e.fake_botapi import FakeBotApi

    items: list[str] = []

    async def feed(_request: web.Request) -> web.Response:
        body = "".join(items)
        rss = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title><link>https://wire.example/</link>{body}</channel></rss>'
        return web.Response(body=rss.encode(), content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/feed.xml", feed)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    folder = Path(tempfile.mkdtemp(prefix="newsbot-path-"))
    async with FakeBotApi(TOKEN) as api:
        config = Config(
            database=f"sqlite:///{folder / 'n.db'}",
            rules=RULES,
            feeds=[FeedConfig(url=f"http://127.0.0.1:{port}/feed.xml", name="Wire", every="1s", fulltext=False)],
            polling=PollingConfig(min_interval="1s", jitter=0),
            telegram=TelegramConfig(token=TOKEN, base_url=api.base_url),
            base_dir=folder,
        )
        daemon = asyncio.create_task(run_daemon(config, delivery(config, None), front=True))
        api.private_chat(READER)
        while not any(method.lower() == "getupdates" for method, _ in api.calls):
            await asyncio.sleep(0.1)
        await api.user_says(READER, READER, "/subscribe troop-deployment")
        await api.wait_until(lambda: len(api.sent(READER)) >= 1, timeout=60)
        await asyncio.sleep(2)  # the first polls (of an empty feed) are done
        watch.active = True
        started = time.monotonic()
        items.append(
            "<item><title>Estonia weighs sending troops to Ukraine</title><link>https://wire.example/a1</link>"
            "<guid>a1</guid><description>Estonia's prime minister did not rule out sending soldiers to Ukraine."
            f"</description><pubDate>{time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime())}</pubDate></item>"
        )
        await api.wait_until(lambda: len(api.sent(READER)) >= 2, timeout=120)
        watch.active = False
        print(f"  the message went out {time.monotonic() - started:.1f} s after the entry was published",
              file=sys.stderr)
        daemon.cancel()
        await asyncio.gather(daemon, return_exceptions=True)
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, default=HERE, help="the newsbot checkout to measure (default: this one)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    args = parser.parse_args()
    tree = args.tree.resolve()
    sys.path[:0] = [str(tree), str(HERE)]
    watch = Watch(tree)
    sys.setprofile(watch)
    threading.setprofile(watch)
    asyncio.run(run(tree, watch))
    sys.setprofile(None)
    files = sorted(set().union(*watch.stacks.values()))
    if args.json:
        stages = {stage: sorted(modules) for stage, modules in watch.stacks.items()}
        print(json.dumps({"tree": str(tree), "files": files, "stages": stages}))
        return
    print(f"{tree}: {len(files)} files on the way of one entry")
    for stage in dict.fromkeys(STAGES.values()):
        print(f"  {stage:15} {', '.join(sorted(watch.stacks.get(stage, ())))}")


if __name__ == "__main__":
    main()
