"""Following edits of config.yaml and the feeds file while newsbot runs, as rulebook/watch.py follows rules/.

Each change is read as a whole new config in a worker thread; a bad edit comes back as its one-sentence
error (file:line: key: message) and the caller keeps the config it runs with. Folders are watched, not
files, so editors that save by writing a new file and renaming it are seen too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path

from watchfiles import Change, awatch

from bot.config import Config, ConfigError
from bot.config_file import load_config
from bot.logs import hide_secrets


@dataclass(frozen=True, slots=True)
class ConfigEdit:
    """The config as edited, or why it cannot be used."""

    config: Config | None
    error: str | None = None


def watched_files(config: Config) -> frozenset[Path]:
    """The files a config was read from: the config file and its feeds file (which may not exist yet)."""
    files = [config.config_file, config.feeds_file_path]
    return frozenset(path.resolve() for path in files if path is not None)


async def watch_config(
    config: Config, *, stop_event: asyncio.Event, debounce_ms: int = 400
) -> AsyncIterator[ConfigEdit]:
    """Yield the config after each batch of edits of its files, until `stop_event` is set."""
    if config.config_file is None:
        return
    source = config.config_file
    files = watched_files(config)
    while not stop_event.is_set():
        folders = sorted({str(path.parent) for path in files if path.parent.is_dir()})

        def ours(change: Change, path: str, files: frozenset[Path] = files) -> bool:
            return Path(path) in files

        changes = awatch(*folders, watch_filter=ours, stop_event=stop_event, debounce=debounce_ms, recursive=False)
        async with aclosing(changes):
            async for _batch in changes:
                try:
                    config = await asyncio.to_thread(load_config, source)
                except ConfigError as error:
                    yield ConfigEdit(None, str(error))
                    continue
                hide_secrets(config.secrets(), config.secret_urls())
                yield ConfigEdit(config)
                if watched_files(config) != files:
                    files = watched_files(config)
                    break  # the feeds file moved: watch the new one
            else:
                return
