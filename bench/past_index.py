"""An earlier commit's story index, run beside today's in one bench run (bench/stories.py's baseline rows).

The commit's `bot` package is taken from git (`git archive`) into a folder and run in a process of its
own, where `import bot` finds that package: two trees of one package cannot share a process. The bench
sends it runs of entries (plain fields and entity ids, so neither side depends on the other's classes)
and gets back the story of each entry.

Run by the bench as `python bench/past_index.py FOLDER`: reads the runs from stdin, writes the stories.
"""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
import tarfile
from collections.abc import Collection
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.model import Entry

Run = list[tuple["Entry", frozenset[str]]]
"""Entries (with their entity ids) filed one after another into an index of their own."""
Stories = list[int | None]
"""The story of each entry of a run once the whole run is filed (None: it left the window)."""


class Index(Protocol):
    def add(self, entry_id: int, entry: Any, entities: Collection[str] = (), *, at: datetime | None = None) -> object:
        ...

    def story_of(self, entry_id: int) -> int | None:
        ...


def file_run(index: Index, run: Run, at: datetime) -> Stories:
    """File a run (ids from 1, seen at `at` when undated) and return each entry's story at the end: stories
    merge as reports arrive, so an entry's story is the one it ends in."""
    for entry_id, (entry, entities) in enumerate(run, start=1):
        index.add(entry_id, entry, entities, at=at)
    return [index.story_of(entry_id) for entry_id in range(1, len(run) + 1)]


class Unavailable(Exception):
    """The commit's tree could not be had (no git, not a checkout, an unknown commit)."""


@dataclass(frozen=True, slots=True)
class PastIndex:
    """The story index of `commit`, with its default settings, over the `bot` package extracted to `folder`."""

    commit: str
    folder: Path

    @classmethod
    def extract(cls, commit: str, repo: Path, folder: Path) -> PastIndex:
        try:
            done = subprocess.run(["git", "-C", str(repo), "archive", commit, "bot"], capture_output=True, check=False)
        except FileNotFoundError as error:
            raise Unavailable("git is not installed") from error
        if done.returncode != 0:
            raise Unavailable(f"git archive {commit}: {done.stderr.decode(errors='replace').strip()}")
        with tarfile.open(fileobj=io.BytesIO(done.stdout)) as tree:
            tree.extractall(folder, filter="data")
        return cls(commit, folder)

    def stories(self, runs: list[Run], at: datetime) -> list[Stories]:
        """Each run filed in a fresh index of the commit's, in a process of its own."""
        sent = [[({f.name: getattr(entry, f.name) for f in fields(entry)}, entities) for entry, entities in run]
                for run in runs]  # fmt: skip
        child = [sys.executable, __file__, str(self.folder)]
        done = subprocess.run(child, input=pickle.dumps((sent, at)), capture_output=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"the index of {self.commit} failed:\n{done.stderr.decode(errors='replace')}")
        stories: list[Stories] = pickle.loads(done.stdout)
        return stories


def _serve(folder: Path) -> None:
    """The child: file the runs on stdin with the index of the package in `folder`; stories to stdout."""
    sys.path.insert(0, str(folder))
    import bot
    from bot.model import Entry
    from bot.stories.index import StoryIndex

    if not Path(bot.__file__).resolve().is_relative_to(folder.resolve()):
        raise SystemExit(f"import bot found {bot.__file__}, not the package in {folder}")
    runs, at = pickle.load(sys.stdin.buffer)
    known = {f.name for f in fields(Entry)}
    built = [[(Entry(**{k: v for k, v in item.items() if k in known}), entities) for item, entities in run]
             for run in runs]  # fmt: skip
    sys.stdout.buffer.write(pickle.dumps([file_run(StoryIndex(), run, at) for run in built]))


if __name__ == "__main__":
    _serve(Path(sys.argv[1]))
