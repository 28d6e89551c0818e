"""The fake Bot API (fake_botapi.py) in a process of its own, and the test's handle on it.

`python -m tests.e2e.botapi_process --token T` serves the fake on an ephemeral port of 127.0.0.1, prints
`port N`, and runs until SIGTERM. `BotApiProcess` starts it and drives it over its `/control/` routes:
simulated users write and press buttons, the test reads what each chat received. So the bot under test,
the fake Telegram and the test are three processes, talking only HTTP, as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tests.e2e.fake_botapi import FakeBotApi

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Sent:
    """A message the bot sent, as the fake holds it now (after any edits; `edits` are the earlier texts)."""

    message_id: int
    text: str
    html: str | None
    entities: list[dict[str, Any]]
    callback_data: list[str]
    edits: list[str]
    thread_id: int | None
    photo: str | None = None
    """A photo message's PNG, base64 (its caption is `text`)."""


class BotApiProcess:
    """`async with BotApiProcess(token) as api:`; point newsbot's `telegram.base_url` at `api.base_url`."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.port = 0
        self._process: asyncio.subprocess.Process | None = None
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> BotApiProcess:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.e2e.botapi_process", "--token", self.token,
            cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), 30)
        if not line.startswith(b"port "):
            raise RuntimeError(f"the fake Bot API did not start: {line!r}")
        self.port = int(line.split()[1])
        self._http = aiohttp.ClientSession(f"http://127.0.0.1:{self.port}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.close()
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            await asyncio.wait_for(self._process.wait(), 20)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def _call(self, action: str, **params: Any) -> Any:
        assert self._http is not None
        async with self._http.post(f"/control/{action}", json=params) as response:
            response.raise_for_status()
            return await response.json()

    async def private_chat(self, user_id: int) -> None:
        await self._call("private_chat", user_id=user_id)

    async def user_says(self, chat_id: int, user_id: int, text: str) -> None:
        await self._call("user_says", chat_id=chat_id, user_id=user_id, text=text)

    async def press(self, chat_id: int, user_id: int, message_id: int, data: str) -> None:
        await self._call("press", chat_id=chat_id, user_id=user_id, message_id=message_id, data=data)

    async def sent(self, chat_id: int) -> list[Sent]:
        return [Sent(**message) for message in await self._call("sent", chat_id=chat_id)]

    async def calls(self) -> list[str]:
        return list(await self._call("calls"))

    async def rejections(self) -> list[list[Any]]:
        return list(await self._call("rejections"))

    async def hold_sends(self) -> None:
        """sendMessage calls hang unanswered and unrecorded until `release_sends` (FakeBotApi.hold_sends)."""
        await self._call("hold_sends")

    async def release_sends(self) -> None:
        await self._call("release_sends")

    async def refuse_held(self) -> None:
        """The held sendMessage calls are answered 502, unaccepted (FakeBotApi.refuse_held); later ones go through."""
        await self._call("refuse_held")

    async def wait_for(
        self, chat_id: int, condition: Callable[[list[Sent]], bool], what: str, timeout: float = 30
    ) -> list[Sent]:
        """What `chat_id` received, once `condition` holds of it."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition(received := await self.sent(chat_id)):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}; chat {chat_id} got {[m.text for m in received]}")
            await asyncio.sleep(0.1)
        return received


async def _serve(token: str) -> None:
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    async with FakeBotApi(token=token) as api:
        print(f"port {api.port}", flush=True)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="the fake Telegram Bot API for tests, on 127.0.0.1")
    parser.add_argument("--token", required=True)
    asyncio.run(_serve(parser.parse_args().token))


if __name__ == "__main__":
    main()
