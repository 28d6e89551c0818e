"""The profile hook of bench/path_files.py, installed in every Python process of the newsbot under test.

bench/path_files.py puts a folder holding a `sitecustomize.py` first on PYTHONPATH; it loads this file, so
the daemon, its threads (threading.setprofile) and its parse workers (children of the multiprocessing
forkserver, which starts with the same environment) all carry the hook. Standard library only: nothing of
newsbot may be imported before the tree under test is.

At every call of a function in the tree's bot/ made from a bot/ module of another package (bot/ingest/ ->
bot/store/, bot/app.py -> bot/fetch/, ...), the hook walks the stack; if the stack is on the entry's way
(it holds a frame of a module in one of PATH_PACKAGES), every bot/ file on it is recorded. New files are
appended at once, with the time, to OUT/<pid> (a daemon stopped by a signal and a worker ended by os._exit
lose nothing).
Once the bench has published the entry (the file OUT/published exists), every file is recorded afresh, so the
bench can keep only what the processes did on the entry's way.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from types import FrameType
from typing import Any

PATH_PACKAGES = ("bot/fetch/", "bot/parse/", "bot/ingest/", "bot/deliver/")
"""Where every tree does the entry's work: the fetch and poll of a feed (fetch/), the parse (parse/), the
orchestration, filing and telling (ingest/), the sinks, the outbox and its senders (deliver/)."""


class Watch:
    def __init__(self, tree: str, out: str) -> None:
        self.root = tree.rstrip("/") + "/"
        self.bot = self.root + "bot/"
        self.out = out
        self.seen: set[str] = set()
        self.packages: dict[str, str] = {}
        self.on_path: dict[str, bool] = {}
        self.marker = os.path.join(out, "published")
        self.published = False
        self.next_look = 0.0

    def _package(self, filename: str) -> str:
        package = self.packages.get(filename)
        if package is None:
            package = self.packages[filename] = os.path.dirname(filename)
        return package

    def _is_path(self, filename: str) -> bool:
        found = self.on_path.get(filename)
        if found is None:
            relative = filename[len(self.root) :]
            found = self.on_path[filename] = relative.startswith(PATH_PACKAGES)
        return found

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "call":
            return
        filename = frame.f_code.co_filename
        caller = frame.f_back
        if caller is None or not filename.startswith(self.bot):
            return
        calling = caller.f_code.co_filename
        if not calling.startswith(self.bot) or self._package(calling) == self._package(filename):
            return
        files = []
        on_path = False
        walking: FrameType | None = frame
        while walking is not None:
            name = walking.f_code.co_filename
            if name.startswith(self.bot):
                files.append(name)
                on_path = on_path or self._is_path(name)
            walking = walking.f_back
        if not on_path:
            return
        if not self.published and time.monotonic() >= self.next_look:
            self.next_look = time.monotonic() + 0.05
            if os.path.exists(self.marker):  # the entry is out: every file counts afresh from now on
                self.published = True
                self.seen.clear()
        new = [name for name in dict.fromkeys(files) if name not in self.seen]
        if new:
            self.seen.update(new)
            with open(os.path.join(self.out, str(os.getpid())), "a", encoding="utf-8") as out:
                now = time.time()
                out.writelines(f"{now:.3f} {name[len(self.root) :]}\n" for name in new)


def install() -> None:
    """Hook this process and its later threads, when the bench asked for it (NEWSBOT_PATH_WATCH_OUT)."""
    out = os.environ.get("NEWSBOT_PATH_WATCH_OUT")
    tree = os.environ.get("NEWSBOT_PATH_WATCH_TREE")
    if not out or not tree:
        return
    watch = Watch(tree, out)
    sys.setprofile(watch)
    threading.setprofile(watch)


SITECUSTOMIZE = """\
import importlib.util, os
_spec = importlib.util.spec_from_file_location("_newsbot_path_watch", os.environ["NEWSBOT_PATH_WATCH_MODULE"])
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
_module.install()
"""
"""The sitecustomize.py that loads this file in each process."""
