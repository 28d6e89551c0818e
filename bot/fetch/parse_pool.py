"""Parsing off the event loop: feed bytes go to worker processes, so a 5 MB feed never stalls the loop or
the other polls, and a parser bug or a worker that dies fails only its own feed.

Workers end with the newsbot process that started them, however it ended (kill -9 included). They are
children of multiprocessing's forkserver, a child of newsbot; when newsbot is killed nothing tells them,
and they would wait on their queue forever, keeping the forkserver and the resource tracker alive. So each
worker watches: a thread checks every second that newsbot is still its parent or its parent's parent, and
ends the worker when it is not; on Linux the worker also asks the kernel to kill it when its own parent (the
forkserver) dies. Once the workers are gone, the forkserver and the resource tracker end by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Generic, TypeVar

from bot.parse.feed import FeedParseError

_Parsed = TypeVar("_Parsed")


class ParsePool:
    """Runs parse_feed in worker processes (or threads, where processes are unwanted).

    Processes start through forkserver: forking a process that runs an event loop and threads is
    unsafe. As with any such pool, a script using it needs the `if __name__ == "__main__":` guard
    (`python -m bot` and the `newsbot` script are fine). A worker that dies (out of memory on a
    monstrous feed) fails that one feed and the pool is rebuilt for the others. Workers end when newsbot
    does, even after a kill -9 (lifeline.py).
    """

    def __init__(self, workers: int | None = None, *, processes: bool = True) -> None:
        self.workers = workers
        self.processes = processes
        self._executor = self._start()

    def _start(self) -> Executor:
        if self.processes:
            context = multiprocessing.get_context("forkserver")
            return ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=watch_parent, initargs=(os.getpid(),)
            )
        return ThreadPoolExecutor(self.workers, thread_name_prefix="parse")

    async def run(self, parse: Callable[[], _Parsed]) -> _Parsed:
        """Any picklable parse call (a partial of a module-level function) off the event loop;
        raises FeedParseError with the reason, also for a parser bug or a dead worker."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, _Contained(parse))
        except BrokenProcessPool as error:
            self._executor.shutdown(wait=False, cancel_futures=False)
            self._executor = self._start()
            raise FeedParseError("the parse worker process died on this feed") from error

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class _Contained(Generic[_Parsed]):
    """A picklable parse call that turns parser bugs into a per-feed error."""

    parse: Callable[[], _Parsed]

    def __call__(self) -> _Parsed:
        try:
            return self.parse()
        except FeedParseError:
            raise
        except Exception as error:  # feedparser has odd corners; one feed's bug must not kill the poll
            raise FeedParseError(f"the parser failed on this feed ({type(error).__name__}: {error})") from None


CHECK_EVERY = 1.0
_PR_SET_PDEATHSIG = 1


def watch_parent(newsbot: int) -> None:
    """Worker initializer: end this process soon after process `newsbot` is gone."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # the watcher thread still covers it
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    threading.Thread(target=_watch, args=(newsbot,), name="lifeline", daemon=True).start()


def _watch(newsbot: int) -> None:
    while newsbot_alive(newsbot):
        time.sleep(CHECK_EVERY)
    os._exit(0)


def newsbot_alive(newsbot: int) -> bool:
    """Whether `newsbot` is still this process's parent or grandparent (an orphan is adopted by someone else,
    so a reused pid cannot fool this, and a dead but unreaped newsbot no longer counts)."""
    parent = os.getppid()
    return parent == newsbot or _parent_of(parent) == newsbot


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])
