"""One `newsbot run` process for the end-to-end tests: started, killed with SIGKILL, stopped politely; its
output goes to a file (appended across restarts), so a full pipe can never stall it."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path


class DaemonProcess:
    def __init__(self, config: Path, log: Path, token: str) -> None:
        self.config = config
        self.log = log
        self.token = token
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COLUMNS": "200", "TELEGRAM_BOT_TOKEN": self.token}
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "-c", str(self.config), stdout=out, stderr=out, env=env
            )

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        await self.process.wait()

    async def stop(self, timeout: float = 30) -> None:
        """SIGTERM, and SIGKILL if it has not ended within `timeout` seconds."""
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                await self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
