"""A process that can no longer work ends with status EXIT_UNWORKABLE (70), so its supervisor (systemd's
`Restart=on-failure`) starts it afresh, rather than staying alive doing nothing:

- MemoryError reaching the event loop (a task or callback that let it through) or a thread;
- the event loop stuck: a thread checks that the loop runs its tick at least every STUCK_AFTER seconds (a
  CPU-bound piece of work or a deadlock on the loop stops the polls, the commands and the heartbeat alike);
- a job the process cannot do without (following the rules and config edits) that ended by itself.

It exits at once (os._exit): a process out of memory or stuck cannot be trusted to stop cleanly, and nothing
is lost by it: the database keeps every step's work, the roles and the SQLite lock end with the process, and
the parse workers end with it.

Under systemd with `Type=notify` (deploy/systemd/), the process also says READY=1 once it runs, and each tick
of its loop feeds the unit's watchdog (`WatchdogSec`), so systemd restarts a process frozen as a whole.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

EXIT_UNWORKABLE = 70
"""The exit status (EX_SOFTWARE) of a process that gave up."""
STUCK_AFTER = 90.0
"""Seconds without a tick of the event loop after which the process counts as stuck."""
TICK = 1.0


def notify(state: str) -> None:
    """Tell systemd `state` (READY=1, WATCHDOG=1) when it started this process with a notify socket."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as error:
        log.warning("could not notify systemd (%s)", error)


def give_up(reason: str) -> None:
    """Say why in one line and end the process with EXIT_UNWORKABLE."""
    log.critical("%s; exiting with status %d so that the supervisor starts newsbot again", reason, EXIT_UNWORKABLE)
    logging.shutdown()
    os._exit(EXIT_UNWORKABLE)


class Lifeline:
    """Watches this process's event loop while `async with Lifeline():` runs (the daemon's whole life)."""

    def __init__(self, stuck_after: float = STUCK_AFTER) -> None:
        self.stuck_after = stuck_after
        self._last = time.monotonic()
        self._done = threading.Event()
        self._ticks: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._watch, name="lifeline", daemon=True)

    async def __aenter__(self) -> Lifeline:
        loop = asyncio.get_running_loop()
        self._previous = loop.get_exception_handler()
        loop.set_exception_handler(self._loop_error)
        self._previous_hook = threading.excepthook
        threading.excepthook = self._thread_error
        self._ticks = asyncio.create_task(self._tick(), name="lifeline tick")
        self._thread.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._done.set()
        if self._ticks is not None:
            self._ticks.cancel()
        asyncio.get_running_loop().set_exception_handler(self._previous)
        threading.excepthook = self._previous_hook

    def needed(self, task: asyncio.Task[Any], what: str) -> None:
        """`task` runs a job the process cannot do without: if it ends with an error, give up."""

        def ended(done: asyncio.Task[Any]) -> None:
            if not done.cancelled() and (error := done.exception()) is not None:
                give_up(f"{what} failed ({type(error).__name__}: {str(error)[:200]})")

        task.add_done_callback(ended)

    def ready(self) -> None:
        """The process runs: say so to systemd (Type=notify)."""
        notify("READY=1")

    async def _tick(self) -> None:
        watchdog = int(os.environ.get("WATCHDOG_USEC", "0") or 0) / 2e6  # feed it twice per period
        fed = 0.0
        while True:
            self._last = time.monotonic()
            if watchdog and self._last - fed >= watchdog:
                fed = self._last
                notify("WATCHDOG=1")
            await asyncio.sleep(TICK)

    def _watch(self) -> None:
        while not self._done.wait(TICK):
            stuck = time.monotonic() - self._last
            if stuck > self.stuck_after:
                give_up(f"the event loop has not run for {stuck:.0f} s (stuck in one piece of work)")

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if isinstance(context.get("exception"), MemoryError):
            give_up("out of memory")
        if self._previous is not None:
            self._previous(loop, context)
        else:
            loop.default_exception_handler(context)

    def _thread_error(self, args: threading.ExceptHookArgs) -> None:
        if isinstance(args.exc_value, MemoryError):
            give_up("out of memory")
        self._previous_hook(args)
