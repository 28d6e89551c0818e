"""Parse workers end with the newsbot process that started them, however it ended (kill -9 included).

Workers are children of multiprocessing's forkserver, which is a child of newsbot. When newsbot is killed
nothing tells the workers; they wait on their queue forever, and keep the forkserver and the resource
tracker alive with them. So each worker watches: a thread checks every second that newsbot is still its
parent or its parent's parent, and ends the worker when it is not. On Linux the worker also asks the kernel
to kill it when its own parent (the forkserver) dies. Once the workers are gone, the forkserver and the
resource tracker end by themselves.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from pathlib import Path

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
