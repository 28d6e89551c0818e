"""Serves the bundled demo feeds over HTTP on 127.0.0.1, so the demo exercises the real fetcher."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bot.config import Config, FeedConfig

FEEDS = Path(__file__).parent / "feeds"
NAMES = {"menafn.xml": "MENAFN", "rewrite-desk.xml": "Rewrite Desk", "demo-wire.xml": "Demo Wire"}


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """The demo's terminal is for alerts, not access logs."""


@contextmanager
def serve_demo_feeds() -> Iterator[str]:
    """Yield the base URL of a local server for the demo feeds, stopping it afterwards."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(FEEDS)))
    thread = threading.Thread(target=server.serve_forever, name="demo-feeds", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def demo_config(base_url: str, database: Path, rules: Path) -> Config:
    """Embedded defaults plus the demo feeds, each allowed to alert on its whole backlog."""
    feeds = [
        FeedConfig(url=f"{base_url}/{file}", name=name, backlog=20, fulltext=False) for file, name in NAMES.items()
    ]
    return Config(database=f"sqlite:///{database}", rules=rules, feeds=feeds, base_dir=Path.cwd())
