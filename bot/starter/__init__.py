"""The starter folder `newsbot init` writes: the documented config and the example rules with their entities.

The files here are package data, so an installed wheel carries them, and they are the only copy: the
repository's top-level rules/ and config.example.yaml are links to them, so a checkout's rules and an
installed newsbot's starter folder are always the same files. The demo and the tests read the rules here.
"""

from __future__ import annotations

import os
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from bot import __version__
from bot.counts import plural

STARTER = Path(__file__).parent
EXAMPLE_CONFIG = STARTER / "config.example.yaml"
RULES = STARTER / "rules"
CONFIG_NAME = "config.yaml"


class InitError(Exception):
    """Why `newsbot init` wrote nothing (or stopped at a file it could not write), as one sentence."""


@dataclass(frozen=True)
class StarterFile:
    """One file of the starter folder: what it holds and where `init` writes it."""

    content: bytes
    target: Path


def starter_files(folder: Path) -> list[StarterFile]:
    """The config (the documented example; its relative paths resolve against `folder`) and every rule file."""
    header = f"# Written by `newsbot init` (newsbot {__version__}) from its documented config.example.yaml.\n"
    files = [StarterFile(header.encode() + EXAMPLE_CONFIG.read_bytes(), folder / CONFIG_NAME)]
    for source in sorted(RULES.rglob("*.yaml")):
        files.append(StarterFile(source.read_bytes(), folder / "rules" / source.relative_to(RULES)))
    return files


def write_starter(folder: Path, *, force: bool = False) -> list[Path]:
    """Write the starter files into `folder` (created if missing); without `force`, refuse if any exists.

    The check comes before any write, so a refusal leaves the folder as it was. Files of the user's own
    (other rules, data/) are never touched.
    """
    files = starter_files(folder)
    for parent in sorted({file.target.parent for file in files}):
        if parent.exists() and not parent.is_dir():
            raise InitError(f"{parent} is a file, not a folder, so nothing was written")
    present = [file.target for file in files if file.target.exists() or file.target.is_symlink()]
    if present and not force:
        more = f" (and {plural(len(present) - 1, 'more starter file')})" if len(present) > 1 else ""
        raise InitError(f"{present[0]} already exists{more}, so nothing was written; pass --force to overwrite")
    for file in files:
        _write(file)
    return [file.target for file in files]


def _write(file: StarterFile) -> None:
    """Write through a temporary file and a rename, so a running bot's rule watcher never reads half a file."""
    partial = file.target.with_name(f".{file.target.name}.partial")
    try:
        file.target.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(file.content)
        os.replace(partial, file.target)
    except OSError as exc:
        with suppress(OSError):
            partial.unlink(missing_ok=True)
        raise InitError(f"cannot write {file.target} ({exc.strerror})") from None
