"""Polling the configured feeds: new items -> their pages -> articles for the corpus.

    poller = FeedPoller(store, feeds=["https://baobacninh.vn/rss"], timeout_s=20, max_bytes=5_000_000,
                        allowed_hosts=[])   # hosts that may be private (HOPTAC_FETCH_ALLOWED_HOSTS)
    summary = await poller.poll(ingest)   # ingest: articles -> IngestResult (news_pipeline.ingestion)

Each feed is fetched with a conditional GET (its last ETag / Last-Modified) within its
own time limit; the feeds are fetched side by side, and one that is down, slow or
malformed, or refused because its address is not public (:mod:`news_pipeline.fetch`), is
logged, recorded for ``/status`` and tried again at the next poll while the others go on.
For each item not seen before (same link, or same title and text under another link)
the page is fetched and its article extracted with trafilatura; when the page cannot be
fetched or holds no article, the feed's own summary becomes the article, tagged
``summary-only``. All new items of one poll go into one ingest.

The validators of a feed are only stored once all its new items are in: a poll that
failed half-way fetches the whole feed again next time rather than skip anything.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace

import httpx

from news_pipeline.feeds import Feed, FeedError, FeedItem, parse_feed
from news_pipeline.fetch import FetchError, fetch, fetch_article, web_client
from news_pipeline.ingestion import IngestResult
from notifications.digest import SUMMARY_ONLY_TAG
from retrieval.articles.corpus import join_paragraphs
from retrieval.articles.importers import make_article_id
from retrieval.models import Article
from retrieval.vietnamese.text import nfc
from storage.interfaces import FeedStateStore
from storage.records import FeedState, PollOutcome, SeenItem

_LOGGER = logging.getLogger(__name__)

#: Article pages fetched at the same time, over all feeds.
PAGE_CONCURRENCY = 4
#: Items looked at per feed and poll (feeds list their newest first).
MAX_ITEMS_PER_FEED = 50

Ingest = Callable[[Sequence[Article]], Awaitable[IngestResult]]


def content_hash(article: Article) -> str:
    """Same title and text -> same hash, whatever URL or date the item came with."""
    return hashlib.sha256(nfc(f"{article.title}\n\n{article.text}").encode("utf-8")).hexdigest()


@dataclass
class _Candidate:
    feed_url: str
    item: FeedItem
    article: Article
    hash: str


@dataclass
class _FeedPoll:
    url: str
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    complete: bool = True  # False: some new item was left out; keep the old validators
    candidates: list[_Candidate] = field(default_factory=list)
    copies: list[_Candidate] = field(default_factory=list)  # new links to articles already added


@dataclass(frozen=True)
class PollSummary:
    feeds: int
    failed: int
    added: int  # articles ingested as new or updated


class FeedPoller:
    """See the module docstring."""

    def __init__(
        self,
        store: FeedStateStore,
        feeds: Sequence[str],
        *,
        timeout_s: float,
        max_bytes: int,
        allowed_hosts: Sequence[str] = (),
    ) -> None:
        self.store = store
        self.feeds = list(feeds)
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.allowed_hosts = tuple(allowed_hosts)
        self._polling = asyncio.Lock()

    async def poll(self, ingest: Ingest) -> PollSummary:
        """Poll every feed once and ingest what is new (one poll at a time)."""
        async with self._polling:
            pages = asyncio.Semaphore(PAGE_CONCURRENCY)
            async with web_client(self.allowed_hosts) as client:
                polls = await asyncio.gather(*(self._poll_safely(client, url, pages) for url in self.feeds))
            candidates = self._unique([c for p in polls for c in p.candidates])
            result = IngestResult()
            if candidates:
                try:
                    result = await ingest([c.article for c in candidates])
                except Exception as exc:
                    _LOGGER.exception("Ingesting %s feed items failed", len(candidates))
                    for p in polls:
                        if p.candidates and p.error is None:
                            p.error = f"không nạp được bài ({type(exc).__name__}: {exc})"
            await self._record(polls, candidates, result)
            added = sum(1 for c in candidates if result.changes.get(c.article.id) in ("new", "updated"))
            return PollSummary(feeds=len(polls), failed=sum(1 for p in polls if p.error), added=added)

    def states(self) -> list[FeedState]:
        return self.store.states(self.feeds)

    # --- one feed --------------------------------------------------------------------------

    async def _poll_safely(self, client: httpx.AsyncClient, url: str, pages: asyncio.Semaphore) -> _FeedPoll:
        """One feed; whatever goes wrong with it stays with it."""
        try:
            return await self._poll_feed(client, url, pages)
        except Exception as exc:
            _LOGGER.exception("Feed %s: unexpected failure; trying again at the next poll", url)
            return _FeedPoll(url, error=f"lỗi không lường trước ({type(exc).__name__})")

    async def _poll_feed(self, client: httpx.AsyncClient, url: str, pages: asyncio.Semaphore) -> _FeedPoll:
        poll = _FeedPoll(url)
        etag, last_modified = await asyncio.to_thread(self.store.validators, url)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            fetched = await fetch(client, url, timeout_s=self.timeout_s, max_bytes=self.max_bytes, headers=headers)
            poll.etag, poll.last_modified = etag, last_modified
            if fetched.status == 304:
                return poll
            poll.etag, poll.last_modified = fetched.headers.get("etag"), fetched.headers.get("last-modified")
            feed = await asyncio.to_thread(parse_feed, fetched.content)
        except (FetchError, FeedError) as exc:
            poll.error = str(exc)
            _LOGGER.warning("Feed %s: %s; trying again at the next poll", url, exc)
            return poll
        items = feed.items[:MAX_ITEMS_PER_FEED]
        seen = await asyncio.to_thread(self.store.seen_keys, [i.key for i in items])
        fresh = [i for i in items if i.key not in seen]
        made = await asyncio.gather(*(self._article(client, feed, item, pages) for item in fresh))
        pairs = [(item, article) for item, article in zip(fresh, made, strict=True) if article is not None]
        poll.complete = len(pairs) == len(fresh)
        candidates = [_Candidate(url, item, article, content_hash(article)) for item, article in pairs]
        known = await asyncio.to_thread(self.store.seen_hashes, [c.hash for c in candidates])
        poll.candidates = [c for c in candidates if c.hash not in known]
        poll.copies = [c for c in candidates if c.hash in known]
        _LOGGER.info("Feed %s: %s items, %s new", url, len(feed.items), len(poll.candidates))
        return poll

    async def _article(
        self, client: httpx.AsyncClient, feed: Feed, item: FeedItem, pages: asyncio.Semaphore
    ) -> Article | None:
        """The item's article: its page's text, else the feed's summary; None if neither."""
        article: Article | None = None
        if item.link:
            try:
                async with pages:
                    article = await fetch_article(client, item.link, timeout_s=self.timeout_s, max_bytes=self.max_bytes)
            except FetchError as exc:
                _LOGGER.info("Page %s: %s; using the feed's summary", item.link, exc)
            except Exception:  # an extractor bug must not cost the item (or the feed)
                _LOGGER.exception("Page %s could not be read; using the feed's summary", item.link)
        if article is None:
            if not item.summary.strip() or not item.title:
                _LOGGER.warning("Feed item %s has neither a readable page nor a summary; skipped", item.key)
                return None
            text = join_paragraphs((line, False) for line in item.summary.split("\n"))
            article = Article(id="", title=item.title, published=None, source="", text=text, tags=(SUMMARY_ONLY_TAG,))
        title = item.title or article.title
        published = item.published or article.published
        return replace(
            article,
            id=make_article_id(published, title),
            title=title,
            published=published,
            source=article.source or feed.title,
            url=item.link or article.url,
        )

    # --- bookkeeping -----------------------------------------------------------------------

    @staticmethod
    def _unique(candidates: list[_Candidate]) -> list[_Candidate]:
        """The same article listed twice in one poll (two feeds, or a link and a copy) goes in once."""
        keys: set[str] = set()
        hashes: set[str] = set()
        ids: set[str] = set()
        unique = []
        for candidate in candidates:
            if candidate.item.key in keys or candidate.hash in hashes or candidate.article.id in ids:
                continue
            keys.add(candidate.item.key)
            hashes.add(candidate.hash)
            ids.add(candidate.article.id)
            unique.append(candidate)
        return unique

    async def _record(self, polls: list[_FeedPoll], candidates: list[_Candidate], result: IngestResult) -> None:
        """Remember the items that went in (and their copies); store each feed's outcome."""
        accepted = {c.hash for c in candidates if c.article.id in result.changes}
        remembered = [
            SeenItem(c.item.key, c.hash, c.feed_url, c.article.id)
            for p in polls
            for c in [*p.candidates, *p.copies]
            if c.hash in accepted or c in p.copies
        ]
        await asyncio.to_thread(self.store.remember, remembered)
        for poll in polls:
            complete = poll.complete and all(c.hash in accepted for c in poll.candidates)
            outcome = PollOutcome(
                poll.url,
                error=poll.error,
                etag=poll.etag,
                last_modified=poll.last_modified,
                keep_validators=not complete,
                added=sum(1 for c in poll.candidates if c.hash in accepted),
            )
            await asyncio.to_thread(self.store.record_poll, outcome)
