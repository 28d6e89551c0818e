"""One APScheduler job per feed, each run choosing the time of the next.

A feed's job is a one-shot date job that re-adds itself when its poll ends, so runs of one feed never
overlap, and each next time comes from the poll policy (interval, adaptive rate, server hints, backoff).
Feeds can be added, moved and removed while it runs (an edit of the config); a feed whose poll is running
then stops, or goes on at the time that poll answers (the poll plans under the settings in force as it ends).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from bot import clock

log = logging.getLogger(__name__)

PollFeed = Callable[[str], Awaitable[datetime]]
_RETRY_AFTER_BUG = timedelta(minutes=5)


class FeedScheduler:
    """Drives `poll(url) -> next poll time` for every feed on the running event loop."""

    def __init__(self, poll: PollFeed, scheduler: AsyncIOScheduler | None = None) -> None:
        self.poll = poll
        self.scheduler = scheduler or AsyncIOScheduler(timezone=UTC)
        self._feeds: set[str] = set()
        self._running: set[str] = set()

    def start(self, first_polls: Iterable[tuple[str, datetime]]) -> None:
        """Schedule each feed's first poll (a past time means now) and start the scheduler."""
        for url, when in first_polls:
            self.set_due(url, when)
        if not self.scheduler.running:
            self.scheduler.start()

    def set_due(self, url: str, when: datetime) -> None:
        """Poll `url` at `when` (a past time means now): a new feed, or one whose settings changed; a feed
        whose poll is running goes on at the time that poll answers."""
        self._feeds.add(url)
        if url not in self._running:
            self._schedule(url, when)

    def remove(self, url: str) -> None:
        """Stop polling `url` (a poll running now still ends normally)."""
        self._feeds.discard(url)
        if self.scheduler.get_job(url) is not None:
            self.scheduler.remove_job(url)

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def next_run(self, url: str) -> datetime | None:
        job = self.scheduler.get_job(url)
        return job.next_run_time if job else None

    def _schedule(self, url: str, when: datetime) -> None:
        self.scheduler.add_job(
            self._run,
            DateTrigger(run_date=max(when, clock.now()), timezone=UTC),
            args=[url],
            id=url,
            name=f"poll {url}",
            replace_existing=True,
            # The chain itself keeps runs of one feed apart: the next job exists only once this run has
            # returned. APScheduler counts the old run a moment longer, so it must allow one more.
            max_instances=2,
            misfire_grace_time=None,
        )

    async def _run(self, url: str) -> None:
        self._running.add(url)
        try:
            when = await self.poll(url)
        except Exception:
            # The poll records feed errors itself; reaching here is a bug, and the feed must still go on.
            log.exception("polling %s failed unexpectedly; retrying in 5 minutes", url)
            when = clock.now() + _RETRY_AFTER_BUG
        finally:
            self._running.discard(url)
        if url in self._feeds:
            self._schedule(url, when)
