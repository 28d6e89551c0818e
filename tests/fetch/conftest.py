"""Real HTTP servers on 127.0.0.1 (aiohttp) for the fetch tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.fetch.servers import Serve


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start an aiohttp app on a free port of 127.0.0.1; returns its base URL."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()
