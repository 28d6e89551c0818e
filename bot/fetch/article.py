"""Full text for entries whose feed carries only a summary: fetch the article page once, extract it off
the event loop, and keep the feed's own text when that fails."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import replace

from bot.fetch.http import Fetcher, FetchFailure
from bot.model import Entry
from bot.parse.fulltext import Article, extract_article
from bot.parse.urls import BUILT_IN, DropParams, canonical_url

log = logging.getLogger(__name__)


class ArticleFetcher:
    """Fetches and extracts article pages, at most once per URL (an LRU of the latest `cache_size`)."""

    def __init__(self, fetcher: Fetcher, cache_size: int = 4096, links: DropParams = BUILT_IN) -> None:
        self.fetcher = fetcher
        self.links = links
        self.cache_size = cache_size
        self._cache: OrderedDict[str, Article | None] = OrderedDict()

    async def article(self, url: str, feed_url: str) -> Article | None:
        """The article at `url`, a link in the feed at `feed_url` (which decides what addresses it may reach)."""
        if url in self._cache:
            self._cache.move_to_end(url)
            return self._cache[url]
        result = await self.fetcher.fetch(url, origin=feed_url)
        if isinstance(result, FetchFailure):
            log.info("full text of %s: %s", url, result.message)
            found = None
        else:
            found = await asyncio.to_thread(extract_article, result.body, result.final_url)
        self._cache[url] = found
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return found

    async def enrich(self, entry: Entry) -> Entry:
        """The entry with its article's main text and canonical URL, or as it was when there is none.

        The feed's own link stays the entry's identity (as GUID when it had none), so the entry is
        recognised on the next poll whatever the page called itself.
        """
        if not entry.url.startswith(("http://", "https://")):
            return entry
        found = await self.article(entry.url, entry.feed_url)
        if found is None or len(found.text) <= len(entry.summary):
            return entry
        return replace(entry, content=found.text, url=canonical_url(entry.url, found.url, self.links), guid=entry.key)
