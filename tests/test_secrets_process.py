"""Issue 20, item 7: secrets never printed. Secret values go into environment variables that config.yaml
expands (a feed URL's user, password and API key, an Apprise URL, a size); every line `newsbot` writes, on
stdout and stderr, for `poll --once -vv`, `poll --once --log-format json`, `run -vv` (a few seconds, with a
failing feed), `status`, `feeds export` and a config error, is searched for them, as written and
percent-encoded."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from aiohttp import web

from bot import clock
from tests.feedserver import render_rss, seed_items
from tests.test_cli_process import ROOT, RULE, Done

pytestmark = pytest.mark.e2e

SECRETS = {
    "NB_FEED_USER": "feeduser-7f3a9c",
    "NB_FEED_PASS": "pass-w0rd-51d2e8",
    "NB_FEED_KEY": "key-b64e1d0c9a77",
    "NB_HOOK_TOKEN": "hooktoken-40aa91",
    "NB_MAX_BYTES": "size-secret-9921",
}


async def _serve(tmp_path: Path) -> tuple[web.AppRunner, int]:
    rss = render_rss("Wire", seed_items((clock.now(), clock.now())))

    async def feed(request: web.Request) -> web.Response:
        if request.path == "/wire.xml":
            return web.Response(body=rss, content_type="application/rss+xml")
        return web.Response(status=404, text=f"no {request.path_qs}")

    app = web.Application()
    app.router.add_get("/{path:.*}", feed)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


def _environment() -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("NEWSBOT_")}
    environment.update(SECRETS, PYTHONPATH=str(ROOT), COLUMNS="250", NO_COLOR="1")
    environment.pop("TELEGRAM_BOT_TOKEN", None)
    return environment


async def _run_for(seconds: float, *arguments: str, cwd: Path) -> Done:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *arguments, cwd=cwd, env=_environment(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    await asyncio.sleep(seconds)
    process.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return Done(process.returncode or 0, out.decode(), err.decode())


def _leaks(done: Done) -> list[str]:
    """Lines holding a secret, as written or percent-encoded."""
    spellings = {spelling for secret in SECRETS.values() for spelling in (secret, quote(secret, safe=""))}
    return [line for line in (done.out + done.err).splitlines() if any(s in line for s in spellings)]


async def test_no_secret_from_the_environment_in_anything_newsbot_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner, port = await _serve(tmp_path)
    try:
        (tmp_path / "rules").mkdir()
        (tmp_path / "rules" / "kallas.yaml").write_text(RULE.replace('"@kaja-kallas"', "Kallas"))
        base = f"http://${{NB_FEED_USER}}:${{NB_FEED_PASS}}@127.0.0.1:{port}"
        settings = {
            "database": f"sqlite:///{tmp_path / 'newsbot.db'}",
            "rules": "rules",
            "feeds": [
                {"url": f"{base}/wire.xml?key=${{NB_FEED_KEY}}&lang=en", "fulltext": False},
                {"url": f"http://127.0.0.1:{port}/gone.xml?api_key=${{NB_FEED_KEY}}", "fulltext": False},
            ],
            "apprise": [{"url": f"json://127.0.0.1:{port}/hook?token=${{NB_HOOK_TOKEN}}", "topics": ["kallas"]}],
            "polling": {"min_interval": "1s", "jitter": 0},
        }
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump(settings))

        async def run(*arguments: str) -> Done:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", *arguments, cwd=tmp_path, env=_environment(),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, err = await asyncio.wait_for(process.communicate(), timeout=120)
            return Done(process.returncode or 0, out.decode(), err.decode())

        done = {
            "poll -vv": await run("poll", "--once", "-vv", "-c", str(config)),
            "poll json": await run("poll", "--once", "--log-format", "json", "-v", "-c", str(config)),
            "run -vv": await _run_for(6, "run", "-vv", "-c", str(config), cwd=tmp_path),
            "status": await run("status", "--wide", "-c", str(config)),
            "export": await run("feeds", "export", "-c", str(config)),
        }
        bad = tmp_path / "bad.yaml"
        bad.write_text(yaml.safe_dump({**settings, "polling": {"max_bytes": "${NB_MAX_BYTES}"}}))
        done["config error"] = await run("poll", "--once", "-c", str(bad))

        for name, result in done.items():
            assert not _leaks(result), f"{name} printed a secret: {_leaks(result)}"
        # the commands did their work: the feed was read with its key, the gone one named, the export kept ${VAR}
        assert "1 failed" in done["poll -vv"].err, done["poll -vv"].err[-3000:]
        assert "gone.xml" in done["poll -vv"].err and "api_key=***" in done["poll -vv"].err
        assert "404" in done["status"].out
        assert "key=${NB_FEED_KEY}" in done["export"].out and "${NB_FEED_PASS}" in done["export"].out
        assert done["config error"].status == 2 and "polling.max_bytes: '***' is not a size" in done["config error"].err
        assert '"message"' in done["poll json"].err
    finally:
        await runner.cleanup()
