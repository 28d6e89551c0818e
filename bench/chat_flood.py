"""How long another chat waits for an answer while one chat floods the bot (issue 20, item 5), in the
pre-session tree and this one.

    .venv/bin/python bench/chat_flood.py [--flood 1000] [--cap 60] [--baseline-tree /work/wt/base]

Each tree runs `python -m bot run` (that tree first on PYTHONPATH) against the fake Bot API of the tests
(tests/e2e/fake_botapi.py, in this process, on 127.0.0.1) with one empty file:// feed and
`allowed_chats: [1001, 1002]`. Two cases: chat 1001 sends FLOOD x /subscribe zephyrine at once, or chat 6666,
which the bot does not serve, sends FLOOD x /start. Right after the flood, chat 1002 sends /mysubs three
times in a row; the table shows the seconds each answer took (capped at CAP: no answer by then), and what
the flooding chat had received when its flood was over.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.fake_botapi import FakeBotApi  # noqa: E402

TOKEN = "424242:BENCH-token"
FLOODER, OTHER, STRANGER = 1001, 1002, 6666
RULE = "id: zephyrine\ntitle: Zephyrine\nquery: zephyrine\n"


async def _reply_within(api: FakeBotApi, chat: int, text: str, cap: float) -> float | None:
    before = len(api.sent(chat))
    asked = time.monotonic()
    await api.user_says(chat, chat, text)
    while len(api.sent(chat)) <= before:
        if time.monotonic() - asked > cap:
            return None
        await asyncio.sleep(0.02)
    return time.monotonic() - asked


async def one_case(tree: Path, flooder: int, flood: int, cap: float) -> tuple[list[float | None], int]:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "rules").mkdir()
        (work / "rules" / "zephyrine.yaml").write_text(RULE)
        (work / "feed.xml").write_text(
            "<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"
        )
        config = work / "config.yaml"
        async with FakeBotApi(token=TOKEN) as api:
            settings = {
                "database": f"sqlite:///{work / 'newsbot.db'}",
                "rules": str(work / "rules"),
                "feeds": [{"url": (work / "feed.xml").as_uri(), "every": "1m"}],
                "telegram": {"token": "${TELEGRAM_BOT_TOKEN}", "base_url": api.base_url,
                             "allowed_chats": [FLOODER, OTHER]},
            }  # fmt: skip
            config.write_text(yaml.safe_dump(settings))
            for chat in (FLOODER, OTHER, STRANGER):
                api.private_chat(chat)
            env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(tree), "TELEGRAM_BOT_TOKEN": TOKEN}
            with (work / "daemon.log").open("wb") as log:
                daemon = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot", "run", "-c", str(config), cwd=work, env=env, stdout=log, stderr=log
                )
                try:
                    if await _reply_within(api, OTHER, "/help", 60) is None:
                        log_text = (work / "daemon.log").read_text()
                        raise SystemExit(f"{tree}: the daemon did not answer /help:\n{log_text}")
                    command = "/subscribe zephyrine" if flooder == FLOODER else "/start"
                    for _ in range(flood):
                        await api.user_says(flooder, flooder, command)
                    waits = [await _reply_within(api, OTHER, "/mysubs", cap) for _ in range(3)]
                    return waits, len(api.sent(flooder))
                finally:
                    daemon.terminate()
                    try:
                        await asyncio.wait_for(daemon.wait(), 30)
                    except TimeoutError:
                        daemon.kill()
                        await daemon.wait()


def _seconds(waits: list[float | None], cap: float) -> str:
    return " / ".join(f"{w:.2f}" if w is not None else f"> {cap:.0f}" for w in waits)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=1000)
    parser.add_argument("--cap", type=float, default=60.0, help="seconds to wait for one answer")
    parser.add_argument("--baseline-tree", type=Path, default=Path("/work/wt/base"))
    args = parser.parse_args()
    print("| case | baseline: answers to chat 1002, s | this tree: answers to chat 1002, s |")
    print("|---|---|---|")
    for flooder, case in ((FLOODER, f"chat 1001 sends {args.flood:,} /subscribe"),
                          (STRANGER, f"unserved chat 6666 sends {args.flood:,} /start")):  # fmt: skip
        before, got_before = await one_case(args.baseline_tree, flooder, args.flood, args.cap)
        after, got_after = await one_case(ROOT, flooder, args.flood, args.cap)
        print(
            f"| {case} | {_seconds(before, args.cap)} (flooder got {got_before}) "
            f"| {_seconds(after, args.cap)} (flooder got {got_after}) |",
            flush=True,
        )


if __name__ == "__main__":
    asyncio.run(main())
